// Rewrites the server's AuthenticationSASL offer. A TLS-terminating hop cannot honour SCRAM
// channel binding (the client binds to our certificate, the server to its own), so the gateway
// removes SCRAM-SHA-256-PLUS; libpq's default channel_binding=prefer then uses SCRAM-SHA-256.
import { AuthRequest, BackendMessage } from './codes.js';
import type { Message } from './message-reader.js';

export const CHANNEL_BINDING_MECHANISM = 'SCRAM-SHA-256-PLUS';

/** The SASL mechanisms in an AuthenticationSASL message, or undefined for other messages. */
export function saslMechanisms(message: Message): string[] | undefined {
  if (message.type !== BackendMessage.Authentication || message.body.length < 4) return undefined;
  if (message.body.readUInt32BE(0) !== AuthRequest.SASL) return undefined;
  return message.body
    .toString('utf8', 4)
    .split('\0')
    .filter((name) => name.length > 0);
}

export function encodeAuthenticationSasl(mechanisms: string[]): Buffer {
  const names = Buffer.from(`${mechanisms.map((m) => `${m}\0`).join('')}\0`, 'utf8');
  const message = Buffer.alloc(9 + names.length);
  message[0] = BackendMessage.Authentication;
  message.writeUInt32BE(8 + names.length, 1);
  message.writeUInt32BE(AuthRequest.SASL, 5);
  names.copy(message, 9);
  return message;
}

/** The message to forward: the original, or the offer without channel binding. */
export function withoutChannelBinding(message: Message): Buffer {
  const mechanisms = saslMechanisms(message);
  if (!mechanisms?.includes(CHANNEL_BINDING_MECHANISM)) return message.raw;
  return encodeAuthenticationSasl(mechanisms.filter((m) => m !== CHANNEL_BINDING_MECHANISM));
}
