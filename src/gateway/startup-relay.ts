// Relays the authentication exchange between client and server, the only phase in which the
// gateway reads server messages. Client bytes are copied through unparsed, except when both
// legs are TLS and the server asks for SCRAM: then scram-proxy.ts takes over the exchange.
// Otherwise SCRAM-SHA-256-PLUS is removed from the server's offer (a client outside TLS, or a
// server outside TLS, has nothing to bind to). Remembers BackendKeyData; stops at the first
// ReadyForQuery or ErrorResponse.
import type { Duplex } from 'node:stream';
import { InvalidMessageError, MessageStream, PeerClosedError } from '../auth/message-stream.js';
import { fatal } from '../protocol/backend-error.js';
import { AuthRequest, BackendMessage, SqlState } from '../protocol/codes.js';
import { saslMechanisms, withoutChannelBinding } from '../protocol/sasl.js';
import { isScramOffer, proxyScram, type ScramProxySetup } from './scram/scram-proxy.js';

export type StartupOutcome =
  | {
      ok: true;
      backendKey: { processId: number; secretKey: Buffer } | undefined;
      remainder: Buffer;
    }
  | { ok: false; reason: string };

export interface StartupRelayOptions {
  /** False after `cert` authentication at the gateway: the server must not ask for a password. */
  passThroughAuth: boolean;
  /**
   * Set when the client and server legs are both TLS: a SCRAM request then goes through the
   * SCRAM proxy (which refuses it with an explanation when auth_user is not set).
   */
  scram?: ScramProxySetup | undefined;
}

export async function relayStartup(
  client: Duplex,
  server: Duplex,
  firstServerBytes: Buffer,
  options: StartupRelayOptions,
): Promise<StartupOutcome> {
  const fromServer = new MessageStream(server, 'server', firstServerBytes);
  const fromClient = new MessageStream(client, 'client');
  fromClient.forwardTo(server);
  const ended = new AbortController();
  // A close on one side ends a wait on the other.
  const onClientClose = () => {
    fromServer.abort(new PeerClosedError('client'));
    ended.abort(new PeerClosedError('client'));
  };
  const onServerClose = () => {
    fromClient.abort(new PeerClosedError('server'));
    ended.abort(new PeerClosedError('server'));
  };
  client.once('close', onClientClose);
  server.once('close', onServerClose);
  try {
    return await relayMessages(client, server, fromClient, fromServer, options, ended.signal);
  } catch (error) {
    if (error instanceof PeerClosedError) {
      return { ok: false, reason: `the ${error.peer} closed the connection during authentication` };
    }
    if (error instanceof InvalidMessageError) {
      client.write(
        fatal(
          SqlState.PROTOCOL_VIOLATION,
          error.peer === 'server'
            ? 'invalid message from the upstream server'
            : 'invalid frontend message during authentication',
        ),
      );
      return { ok: false, reason: error.message };
    }
    throw error;
  } finally {
    client.off('close', onClientClose);
    server.off('close', onServerClose);
    fromClient.detach();
    fromServer.detach();
  }
}

async function relayMessages(
  client: Duplex,
  server: Duplex,
  fromClient: MessageStream,
  fromServer: MessageStream,
  options: StartupRelayOptions,
  signal: AbortSignal,
): Promise<StartupOutcome> {
  let backendKey: { processId: number; secretKey: Buffer } | undefined;
  for (;;) {
    const message = await fromServer.next();
    if (message.type === BackendMessage.Authentication && !options.passThroughAuth) {
      const request = message.body.readUInt32BE(0);
      if (request !== AuthRequest.Ok) {
        client.write(
          fatal(
            SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
            'the upstream server asked for a password after certificate authentication at the gateway',
            {
              hint: "Let the upstream server trust the gateway's connections for this user (for example a `trust` or `cert` rule for the gateway's address).",
            },
          ),
        );
        return { ok: false, reason: 'upstream requested authentication after cert authentication' };
      }
    }
    const offer = saslMechanisms(message);
    if (options.scram && offer && isScramOffer(offer)) {
      fromClient.forwardTo(undefined);
      const result = await proxyScram(
        options.scram,
        offer,
        { socket: client, messages: fromClient },
        { socket: server, messages: fromServer, certificate: options.scram.serverCertificate },
        signal,
      );
      if (!result.ok) return result;
      fromClient.forwardTo(server);
      continue;
    }
    if (message.type === BackendMessage.BackendKeyData && message.body.length >= 8) {
      backendKey = {
        processId: message.body.readUInt32BE(0),
        secretKey: Buffer.from(message.body.subarray(4)),
      };
    }
    client.write(withoutChannelBinding(message));
    if (message.type === BackendMessage.ReadyForQuery) {
      return { ok: true, backendKey, remainder: fromServer.detach() };
    }
    if (message.type === BackendMessage.ErrorResponse) {
      return { ok: false, reason: 'the server refused the connection' };
    }
  }
}
