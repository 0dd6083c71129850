// `--check`: asks the far end of a forward whether it is PostgreSQL. PostgreSQL never speaks
// first and answers an SSLRequest with exactly one byte, 'S' or 'N'; anything else is not it
// (an SSH server, for one, greets with "SSH-2.0-…" whose first byte is also 'S').
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { decodeErrorFields } from '../protocol/backend-error.js';
import { BackendMessage } from '../protocol/codes.js';
import { encodeSslRequest } from '../protocol/frontend.js';

/** What the far end turned out to be. */
export type CheckOutcome =
  | { kind: 'postgres'; ssl: boolean; tls?: { protocol: string; subject: string } | undefined }
  | { kind: 'postgres-error'; message: string }
  | { kind: 'not-postgres'; detail: string };

/** Decides from the bytes seen before and after the SSLRequest. Pure. */
export function interpretSslReply(
  unsolicited: Buffer,
  reply: Buffer,
  closed: boolean,
): CheckOutcome {
  if (unsolicited.length > 0) {
    return {
      kind: 'not-postgres',
      detail: `it spoke first (${preview(unsolicited)}), which PostgreSQL never does`,
    };
  }
  if (reply.length === 0) {
    return {
      kind: 'not-postgres',
      detail: closed
        ? 'it closed the connection without answering an SSLRequest'
        : 'it did not answer an SSLRequest',
    };
  }
  const first = reply[0];
  if (reply.length === 1 && (first === 0x53 || first === 0x4e)) {
    return { kind: 'postgres', ssl: first === 0x53 };
  }
  if (first === BackendMessage.ErrorResponse && reply.length >= 5) {
    const length = reply.readUInt32BE(1);
    if (length >= 4 && length + 1 <= reply.length) {
      const fields = decodeErrorFields(reply.subarray(5, 1 + length));
      const message = fields.get('M');
      if (message) return { kind: 'postgres-error', message };
    }
  }
  return { kind: 'not-postgres', detail: `it answered an SSLRequest with ${preview(reply)}` };
}

function preview(bytes: Buffer): string {
  const head = bytes.subarray(0, 32);
  const text = head.toString('latin1');
  if (/^[\x20-\x7e\r\n\t]+$/.test(text)) return JSON.stringify(text.trimEnd());
  return `bytes ${head.toString('hex').replace(/(..)/g, '$1 ').trim()}${bytes.length > 32 ? ' …' : ''}`;
}

export interface CheckTimings {
  /** How long to listen for a server that speaks first, and for extra bytes after the answer. */
  quietMs?: number;
  /** How long to wait for the answer. */
  answerTimeoutMs?: number;
}

/**
 * Runs the check over `stream` (a fresh forwarded channel) and closes it. When the server
 * offers SSL, a TLS handshake is completed too (certificate not verified: this only reports
 * what is there), which also keeps an "EOF detected" complaint out of the server log.
 */
export async function checkPostgres(
  stream: Duplex,
  timings: CheckTimings = {},
): Promise<CheckOutcome> {
  const quietMs = timings.quietMs ?? 200;
  const answerTimeoutMs = timings.answerTimeoutMs ?? 5_000;
  const chunks: Buffer[] = [];
  let closed = false;
  let arrived: () => void = () => {};
  const onData = (chunk: Buffer) => {
    chunks.push(chunk);
    arrived();
  };
  stream.on('data', onData);
  stream.on('error', () => {});
  stream.once('close', () => {
    closed = true;
    arrived();
  });
  const wait = (ms: number, untilData: boolean) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      if (untilData) {
        arrived = () => {
          clearTimeout(timer);
          resolve();
        };
      }
    });
  try {
    await wait(quietMs, false);
    const unsolicited = Buffer.concat(chunks.splice(0));
    if (unsolicited.length === 0 && !closed) {
      stream.write(encodeSslRequest());
      await wait(answerTimeoutMs, true);
      arrived = () => {};
      if (chunks.length > 0) await wait(quietMs, false);
    }
    const outcome = interpretSslReply(unsolicited, Buffer.concat(chunks), closed);
    if (outcome.kind === 'postgres' && outcome.ssl && !closed) {
      stream.off('data', onData);
      outcome.tls = await peekTls(stream, answerTimeoutMs);
    }
    return outcome;
  } finally {
    stream.destroy();
  }
}

async function peekTls(stream: Duplex, timeoutMs: number) {
  const socket = tlsConnect({ socket: stream, rejectUnauthorized: false });
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  try {
    await once(socket, 'secureConnect');
    const subject = socket.getPeerCertificate()?.subject;
    const cn = subject?.CN;
    return {
      protocol: socket.getProtocol() ?? 'TLS',
      subject: Array.isArray(cn) ? cn.join(',') : (cn ?? 'no CN'),
    };
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}

/** One line for the user, e.g. "PostgreSQL answered at localhost:5432 (SSL supported)". */
export function describeOutcome(outcome: CheckOutcome, target: string): string {
  switch (outcome.kind) {
    case 'postgres': {
      const tls = outcome.tls
        ? `, ${outcome.tls.protocol}, certificate CN=${outcome.tls.subject}`
        : '';
      return `PostgreSQL answered at ${target} (SSL ${outcome.ssl ? 'supported' : 'not supported'}${tls})`;
    }
    case 'postgres-error':
      return `PostgreSQL at ${target} answered with an error: ${outcome.message}`;
    case 'not-postgres':
      return `${target} does not answer like PostgreSQL: ${outcome.detail}`;
  }
}
