// Relays the authentication exchange between client and server, the only phase in which the
// gateway reads server messages: it strips SCRAM-SHA-256-PLUS from the SASL offer (a
// TLS-terminating hop cannot honour channel binding), remembers BackendKeyData, and stops at
// the first ReadyForQuery or ErrorResponse. Client bytes are copied through unparsed.
import type { Duplex } from 'node:stream';
import { fatal } from '../protocol/backend-error.js';
import { AuthRequest, BackendMessage, SqlState } from '../protocol/codes.js';
import { MessageReader } from '../protocol/message-reader.js';
import { withoutChannelBinding } from '../protocol/sasl.js';

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
}

export function relayStartup(
  client: Duplex,
  server: Duplex,
  firstServerBytes: Buffer,
  options: StartupRelayOptions,
): Promise<StartupOutcome> {
  return new Promise((resolve) => {
    const reader = new MessageReader();
    let backendKey: { processId: number; secretKey: Buffer } | undefined;
    let settled = false;

    const finish = (outcome: StartupOutcome) => {
      if (settled) return;
      settled = true;
      server.off('data', onServerData);
      client.off('data', onClientData);
      server.off('close', onServerClose);
      client.off('close', onClientClose);
      server.pause();
      client.pause();
      resolve(outcome);
    };

    const onServerData = (chunk: Buffer) => {
      let messages: ReturnType<MessageReader['push']>;
      try {
        messages = reader.push(chunk);
      } catch (error) {
        client.write(
          fatal(SqlState.PROTOCOL_VIOLATION, 'invalid message from the upstream server'),
        );
        finish({
          ok: false,
          reason: `upstream sent an invalid message: ${(error as Error).message}`,
        });
        return;
      }
      for (const message of messages) {
        if (settled) return;
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
            finish({
              ok: false,
              reason: 'upstream requested authentication after cert authentication',
            });
            return;
          }
        }
        if (message.type === BackendMessage.BackendKeyData && message.body.length >= 8) {
          backendKey = {
            processId: message.body.readUInt32BE(0),
            secretKey: Buffer.from(message.body.subarray(4)),
          };
        }
        client.write(withoutChannelBinding(message));
        if (message.type === BackendMessage.ReadyForQuery) {
          finish({ ok: true, backendKey, remainder: reader.remainder() });
          return;
        }
        if (message.type === BackendMessage.ErrorResponse) {
          finish({ ok: false, reason: 'the server refused the connection' });
          return;
        }
      }
    };
    const onClientData = (chunk: Buffer) => {
      server.write(chunk);
    };
    const onServerClose = () =>
      finish({ ok: false, reason: 'the server closed the connection during authentication' });
    const onClientClose = () =>
      finish({ ok: false, reason: 'the client closed the connection during authentication' });

    server.on('data', onServerData);
    client.on('data', onClientData);
    server.once('close', onServerClose);
    client.once('close', onClientClose);
    if (firstServerBytes.length > 0) onServerData(firstServerBytes);
    if (!settled) {
      server.resume();
      client.resume();
    }
  });
}
