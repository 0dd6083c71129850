// The one driver of the startup engine (src/protocol/negotiation.ts) on a real socket, for
// `serve`, the local side of `connect` and the `ssh` refusal path: it reads bytes, writes the
// engine's answers, runs TLS when the engine asks for it, and refuses or closes as it decides.
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { readUntil } from '../net/read-bytes.js';
import {
  INITIAL_NEGOTIATION,
  type NegotiationAction,
  type NegotiationFailure,
  type NegotiationResult,
  negotiationStep,
  tlsEstablished,
} from '../protocol/negotiation.js';
import type { StartupPacket } from '../protocol/startup-packet.js';
import { endWithReply } from './refusal.js';

export interface StartupOptions {
  /** This endpoint offers TLS: ssl is on and the client came over TCP. */
  tlsAvailable: boolean;
  /**
   * Runs the server side of TLS on `raw` (its first bytes may already be unshifted back).
   * Rejects when the handshake fails, times out or the client leaves. Needed when tlsAvailable.
   */
  startTls?: (raw: Duplex) => Promise<TLSSocket>;
  /** Aborting stops the wait for the client's bytes (a startup timeout). */
  signal?: AbortSignal;
}

/** How the startup phase ended. */
export type StartupOutcome =
  | {
      kind: 'startup';
      /** The stream the client is reached on: the socket, or the TLS socket over it. */
      stream: Duplex;
      tls: TLSSocket | undefined;
      startup: Extract<StartupPacket, { kind: 'startup' }>;
      /** The StartupMessage as received, to forward as-is. */
      packet: Buffer;
      /** Bytes the client sent after the StartupMessage. */
      rest: Buffer;
    }
  /** A CancelRequest; the caller passes it on and closes `stream`. */
  | { kind: 'cancel'; stream: Duplex; processId: number; secretKey: Buffer }
  /** The client was sent a FATAL and the connection closed. */
  | { kind: 'refused'; reason: NegotiationFailure; message: string }
  /** Closed without a reply: the client left, stayed silent, failed TLS, or asked for none. */
  | {
      kind: 'closed';
      reason: NegotiationFailure | 'tls_handshake_failed';
      message: string;
      error?: unknown;
    };

/** Runs the startup phase on `socket` until a StartupMessage or CancelRequest, or the end. */
export async function negotiateStartup(
  socket: Duplex,
  options: StartupOptions,
): Promise<StartupOutcome> {
  const startTls = options.tlsAvailable ? options.startTls : undefined;
  const context = { tlsAvailable: startTls !== undefined };
  let stream: Duplex = socket;
  let tls: TLSSocket | undefined;
  let buffered: Buffer = Buffer.alloc(0);
  let result: NegotiationResult = negotiationStep(INITIAL_NEGOTIATION, context, buffered);

  for (;;) {
    const action: NegotiationAction = result.action;
    switch (action.kind) {
      case 'read-more': {
        try {
          const chunk = await readUntil(stream, () => true, options.signal);
          buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
        } catch (error) {
          // A half packet, silence until the timeout, or a reset: PostgreSQL closes quietly.
          stream.destroy();
          return {
            kind: 'closed',
            reason: 'client_left',
            message: 'the client left before sending a complete startup packet',
            error,
          };
        }
        result = negotiationStep(result.state, context, buffered);
        continue;
      }
      case 'answer':
      case 'start-direct-tls': {
        if (action.kind === 'answer') {
          stream.write(action.reply);
          buffered = buffered.subarray(action.consumed);
          if (!action.startTls) {
            result = negotiationStep(result.state, context, buffered);
            continue;
          }
        } else {
          // The ClientHello's first bytes go back to the socket for TLS to read.
          stream.unshift(buffered);
          buffered = Buffer.alloc(0);
        }
        if (!startTls) throw new Error('the startup engine asked for TLS where none is offered');
        try {
          // A client that sent its request and its FIN together is gone: no handshake to wait for.
          if (stream.readableEnded) throw new Error('the client closed the connection');
          tls = await startTls(stream);
        } catch (error) {
          stream.destroy();
          return {
            kind: 'closed',
            reason: 'tls_handshake_failed',
            message: 'the TLS handshake did not complete',
            error,
          };
        }
        stream = tls;
        result = tlsEstablished(result.state, { alpnProtocol: tls.alpnProtocol });
        continue;
      }
      case 'refuse':
        await endWithReply(stream, action.reply);
        return { kind: 'refused', reason: action.reason, message: action.message };
      case 'close':
        stream.destroy();
        return { kind: 'closed', reason: action.reason, message: action.message };
      case 'cancel':
        return { kind: 'cancel', stream, processId: action.processId, secretKey: action.secretKey };
      case 'startup':
        return {
          kind: 'startup',
          stream,
          tls,
          startup: action.startup,
          packet: action.packet,
          rest: action.rest,
        };
    }
  }
}
