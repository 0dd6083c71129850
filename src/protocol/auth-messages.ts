// Codecs for the authentication phase of the protocol, both directions: Authentication
// requests (R), SASLInitialResponse / SASLResponse / PasswordMessage (all type p), and the MD5
// password hash. https://www.postgresql.org/docs/current/protocol-message-formats.html
import { createHash } from 'node:crypto';
import { type AuthRequest, BackendMessage } from './codes.js';
import type { Message } from './message-reader.js';

/** Type byte of PasswordMessage, SASLInitialResponse and SASLResponse. */
export const PASSWORD_MESSAGE = 0x70; // p

function typed(type: number, body: Buffer): Buffer {
  const message = Buffer.alloc(5 + body.length);
  message[0] = type;
  message.writeUInt32BE(4 + body.length, 1);
  body.copy(message, 5);
  return message;
}

function cstring(text: string): Buffer {
  return Buffer.from(`${text}\0`, 'utf8');
}

function int32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeInt32BE(value, 0);
  return bytes;
}

/** An Authentication message: its request code and the bytes after it; else undefined. */
export function authenticationRequest(
  message: Message,
): { code: number; data: Buffer } | undefined {
  if (message.type !== BackendMessage.Authentication || message.body.length < 4) return undefined;
  return { code: message.body.readUInt32BE(0), data: message.body.subarray(4) };
}

/** AuthenticationSASLContinue (server-first-message) or AuthenticationSASLFinal. */
export function encodeSaslChallenge(
  code: typeof AuthRequest.SASLContinue | typeof AuthRequest.SASLFinal,
  text: string,
): Buffer {
  return typed(BackendMessage.Authentication, Buffer.concat([int32(code), Buffer.from(text)]));
}

export function encodeSaslInitialResponse(mechanism: string, data: string): Buffer {
  const bytes = Buffer.from(data, 'utf8');
  return typed(PASSWORD_MESSAGE, Buffer.concat([cstring(mechanism), int32(bytes.length), bytes]));
}

export function encodeSaslResponse(data: string): Buffer {
  return typed(PASSWORD_MESSAGE, Buffer.from(data, 'utf8'));
}

export function encodePasswordMessage(password: string): Buffer {
  return typed(PASSWORD_MESSAGE, cstring(password));
}

/**
 * A SASLInitialResponse body: the chosen mechanism and the initial response (undefined when
 * the client sent length -1). Throws RangeError on a malformed body.
 */
export function decodeSaslInitialResponse(body: Buffer): {
  mechanism: string;
  data: string | undefined;
} {
  const end = body.indexOf(0);
  if (end === -1 || body.length < end + 5) throw new RangeError('malformed SASLInitialResponse');
  const mechanism = body.toString('utf8', 0, end);
  const length = body.readInt32BE(end + 1);
  const rest = body.subarray(end + 5);
  if (length === -1 && rest.length === 0) return { mechanism, data: undefined };
  if (length !== rest.length) throw new RangeError('malformed SASLInitialResponse');
  return { mechanism, data: rest.toString('utf8') };
}

/** PostgreSQL's MD5 response: "md5" + md5(md5(password + user) + salt), in hex. */
export function md5PasswordResponse(user: string, password: string, salt: Buffer): string {
  const inner = createHash('md5').update(password).update(user).digest('hex');
  return `md5${createHash('md5').update(inner).update(salt).digest('hex')}`;
}
