// ErrorResponse and NoticeResponse: what a client is told when the gateway refuses it, and a
// decoder for the ones the upstream server sends. Field codes per
// https://www.postgresql.org/docs/current/protocol-error-fields.html
import { BackendMessage, type SqlStateCode } from './codes.js';

export type Severity =
  | 'ERROR'
  | 'FATAL'
  | 'PANIC'
  | 'WARNING'
  | 'NOTICE'
  | 'DEBUG'
  | 'INFO'
  | 'LOG';

/** A client-facing PostgreSQL error: the only kind of error a client ever sees from us. */
export interface BackendError {
  severity: Severity;
  sqlstate: SqlStateCode | string;
  message: string;
  detail?: string | undefined;
  hint?: string | undefined;
}

/** Encodes an ErrorResponse ('E'), or a NoticeResponse ('N') for non-error severities. */
export function encodeBackendError(error: BackendError): Buffer {
  const isError =
    error.severity === 'ERROR' || error.severity === 'FATAL' || error.severity === 'PANIC';
  const fields: Array<[string, string | undefined]> = [
    ['S', error.severity],
    ['V', error.severity], // non-localized severity, PostgreSQL 9.6+
    ['C', error.sqlstate],
    ['M', error.message],
    ['D', error.detail],
    ['H', error.hint],
  ];
  const parts: Buffer[] = [Buffer.alloc(5)];
  for (const [code, value] of fields) {
    if (value !== undefined) parts.push(Buffer.from(`${code}${value}\0`, 'utf8'));
  }
  parts.push(Buffer.from([0]));
  const message = Buffer.concat(parts);
  message[0] = isError ? BackendMessage.ErrorResponse : BackendMessage.NoticeResponse;
  message.writeUInt32BE(message.length - 1, 1);
  return message;
}

/** Shorthand for the FATAL errors the gateway sends before closing a connection. */
export function fatal(
  sqlstate: SqlStateCode,
  message: string,
  extra: { detail?: string; hint?: string } = {},
): Buffer {
  return encodeBackendError({ severity: 'FATAL', sqlstate, message, ...extra });
}

/** Decodes the body of an ErrorResponse/NoticeResponse (after the type byte and length). */
export function decodeErrorFields(body: Buffer): Map<string, string> {
  const fields = new Map<string, string>();
  let offset = 0;
  while (offset < body.length && body[offset] !== 0) {
    const code = String.fromCharCode(body[offset] ?? 0);
    const end = body.indexOf(0, offset + 1);
    if (end === -1) break;
    fields.set(code, body.toString('utf8', offset + 1, end));
    offset = end + 1;
  }
  return fields;
}
