// The I/O of one attempt on one address: dial, then SSLRequest and its answer or direct TLS,
// then the TLS handshake with the sslmode's checks. Failures carry libpq's words; what to do
// about them is decided by attempts.ts.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { SocketAddress } from '../net/address.js';
import { dial } from '../net/dial.js';
import { readUntil, StreamEndedError } from '../net/read-bytes.js';
import { encodeSslRequest } from '../protocol/frontend.js';
import { type Attempt, type AttemptMethod, nextAttempt } from './attempts.js';
import {
  connectFailureHint,
  SERVER_CLOSED_UNEXPECTEDLY,
  systemErrorText,
} from './libpq-messages.js';
import { SSLMODE_RULES } from './sslmode.js';
import { UpstreamError } from './upstream-error.js';
import type { UpstreamTarget } from './upstream-target.js';
import { prepareUpstreamTls, startUpstreamTls, type TlsEnvironment } from './upstream-tls.js';

/** The TLS handshake or a certificate check failed: libpq's rules may allow a fallback. */
export class TlsStageFailure extends Error {
  constructor(readonly failure: UpstreamError) {
    super(failure.message);
  }
}

export interface Transport {
  socket: Socket;
  tls: boolean;
  /** The server answered SSLRequest with 'N'; `socket` is still open, in plaintext. */
  refused: boolean;
}

export function writeAll(socket: Socket, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.write(data, (error) => (error ? reject(error) : resolve()));
  });
}

/** Reads until `enough`, turning a close or an error into libpq's words. */
export function readFromServer(
  socket: Socket,
  enough: (received: Buffer) => boolean,
  signal: AbortSignal,
): Promise<Buffer> {
  return readUntil(socket, enough, signal).catch((error: unknown) => {
    if (signal.aborted) throw signal.reason;
    throw new UpstreamError(
      'ERR_UPSTREAM_CONNECT',
      error instanceof StreamEndedError
        ? SERVER_CLOSED_UNEXPECTEDLY
        : `could not receive data from server: ${systemErrorText(error)}`,
      { cause: error },
    );
  });
}

/** Opens the TCP or unix connection, with libpq's words and hint when that fails. */
export async function dialAddress(
  target: UpstreamTarget,
  address: SocketAddress,
  signal: AbortSignal,
  sharedReadBuffer = false,
): Promise<Socket> {
  try {
    return await dial(address, {
      signal,
      sharedReadBuffer,
      keepAlive: target.keepalives !== false,
      keepAliveInitialDelayMs: (target.keepalivesIdleSeconds ?? 0) * 1000,
    });
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw new UpstreamError('ERR_UPSTREAM_CONNECT', systemErrorText(error), {
      hint: connectFailureHint(address),
      cause: error,
    });
  }
}

/**
 * Dials one address and sets up the transport for `method` (SSLRequest or direct TLS).
 * Rejects with TlsStageFailure when the handshake or its checks fail.
 */
export async function openTransport(
  target: UpstreamTarget,
  address: SocketAddress,
  method: AttemptMethod,
  signal: AbortSignal,
  tlsEnvironment: TlsEnvironment | undefined,
  /** Written first on a TCP connection: the gateway's PROXY protocol header. */
  preamble?: Buffer | undefined,
  /** A plaintext connection reads into the shared read buffer (see dial's option). */
  sharedReadBuffer = false,
): Promise<Transport> {
  // Never under TLS: node:tls reads the socket itself, and would not expect its reads stopped.
  const socket = await dialAddress(
    target,
    address,
    signal,
    sharedReadBuffer && method === 'plaintext',
  );
  if (preamble && address.kind === 'tcp') {
    try {
      await writeAll(socket, preamble);
    } catch (error) {
      socket.destroy();
      throw new UpstreamError(
        'ERR_UPSTREAM_CONNECT',
        `could not send PROXY protocol header: ${systemErrorText(error)}`,
        { cause: error },
      );
    }
  }
  if (method === 'plaintext') return { socket, tls: false, refused: false };
  try {
    if (target.sslnegotiation !== 'direct') {
      const answer = await sslRequest(socket, signal);
      if (answer === 'N') return { socket, tls: false, refused: true };
    }
    let tlsSocket: TLSSocket;
    try {
      const setup = prepareUpstreamTls(target, tlsEnvironment);
      tlsSocket = await startUpstreamTls(socket, target, setup, signal);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (error instanceof UpstreamError) throw new TlsStageFailure(error);
      throw error;
    }
    return { socket: tlsSocket, tls: true, refused: false };
  } catch (error) {
    socket.destroy();
    throw error;
  }
}

/** Sends SSLRequest and reads the answer, 'S' or 'N'; anything else fails as libpq does. */
async function sslRequest(socket: Socket, signal: AbortSignal): Promise<'S' | 'N'> {
  try {
    await writeAll(socket, encodeSslRequest());
  } catch (error) {
    throw new UpstreamError(
      'ERR_UPSTREAM_CONNECT',
      `could not send SSL negotiation packet: ${systemErrorText(error)}`,
      { cause: error },
    );
  }
  const reply = await readFromServer(socket, (received) => received.length >= 1, signal);
  const answer = String.fromCharCode(reply[0] ?? 0);
  if (answer === 'E') {
    // The server is not authenticated yet: its message is not to be trusted or shown.
    throw new UpstreamError(
      'ERR_UPSTREAM_TLS',
      'server sent an error response during SSL exchange',
    );
  }
  if (answer !== 'S' && answer !== 'N') {
    throw new UpstreamError(
      'ERR_UPSTREAM_TLS',
      `received invalid response to SSL negotiation: ${answer}`,
    );
  }
  if (answer === 'S' && reply.length > 1) {
    // Bytes injected before the handshake (CVE-2021-23222) must not be trusted.
    throw new UpstreamError('ERR_UPSTREAM_TLS', 'received unencrypted data after SSL response');
  }
  return answer;
}

/** 'N' where the sslmode needs TLS. */
export function sslRefusedError(): UpstreamError {
  return new UpstreamError(
    'ERR_UPSTREAM_SSL_REFUSED',
    'server does not support SSL, but SSL was required',
  );
}

/**
 * Opens a transport for `attempt` and applies libpq's sslmode decisions about the connection
 * itself (attempts.ts): a failed TLS stage is retried with the rule's fallback on a new
 * connection (`onRetry` hears why the failed one was given up), and an 'N' either goes on in
 * plaintext or fails. Resolves with the open transport and the attempt it now stands for;
 * what the server answers after that is the caller's to judge. Used by sessions and cancels.
 */
export async function openAttempt(
  target: UpstreamTarget,
  address: SocketAddress,
  first: Attempt,
  signal: AbortSignal,
  options: {
    tlsEnvironment?: TlsEnvironment | undefined;
    preamble?: Buffer | undefined;
    sharedReadBuffer?: boolean | undefined;
  },
  onRetry: (reason: string) => void = () => {},
): Promise<{ transport: Transport; attempt: Attempt }> {
  const rule = SSLMODE_RULES[target.sslmode];
  let attempt = first;
  for (;;) {
    let transport: Transport;
    try {
      transport = await openTransport(
        target,
        address,
        attempt.method,
        signal,
        options.tlsEnvironment,
        options.preamble,
        options.sharedReadBuffer,
      );
    } catch (error) {
      if (!(error instanceof TlsStageFailure)) throw error;
      const decision = nextAttempt(rule, attempt, 'tls-failed');
      if (decision.kind !== 'retry') throw error.failure;
      onRetry(error.failure.reason);
      attempt = decision.attempt;
      continue;
    }
    if (transport.refused) {
      const decision = nextAttempt(rule, attempt, 'refused');
      if (decision.kind !== 'continue-plaintext') {
        transport.socket.destroy();
        throw sslRefusedError();
      }
      attempt = decision.attempt;
    }
    return { transport, attempt };
  }
}
