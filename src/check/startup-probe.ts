// Sends a StartupMessage, without TLS or over TLS, and reads the first answer: this shows
// whether a session without encryption reaches authentication, and which authentication
// methods (SCRAM-SHA-256-PLUS?) the server offers. The user need not exist: the answer comes
// before any password is checked, and the connection is closed right after it.
import type { Duplex } from 'node:stream';
import { readUntil } from '../net/read-bytes.js';
import { encodeStartupMessage } from '../protocol/frontend.js';
import { type Message, MessageReader } from '../protocol/message-reader.js';
import type { StartupAnswer, TlsVersion } from './facts.js';
import {
  describeBytes,
  handshake,
  type ProbeContext,
  ProbeFailure,
  type TlsRoute,
  withConnection,
} from './probe-connection.js';
import { classifyStartupAnswer } from './startup-answer.js';
import { baseTlsOptions, cipherStringFor } from './tls-probe.js';

/** Sends a StartupMessage on `stream` and reads the first message of the answer. */
export async function firstAnswer(
  stream: Duplex,
  user: string,
  database: string,
  signal: AbortSignal,
): Promise<StartupAnswer> {
  stream.write(
    encodeStartupMessage([
      ['user', user],
      ['database', database],
      ['application_name', 'pgtunnel check'],
    ]),
  );
  let messages: Message[] = [];
  let invalid: Buffer | undefined;
  try {
    await readUntil(
      stream,
      (bytes) => {
        if (messages.length > 0 || invalid) return true;
        try {
          // readUntil hands over everything received so far: parse it afresh each time.
          messages = new MessageReader().push(bytes);
        } catch {
          invalid = bytes;
        }
        return messages.length > 0 || invalid !== undefined;
      },
      signal,
    );
  } catch {
    if (signal.aborted)
      return { kind: 'failed', detail: 'no answer to the startup message in time' };
    return {
      kind: 'failed',
      detail: 'the server closed the connection without answering the startup message',
    };
  }
  const first = messages[0];
  if (!first)
    return {
      kind: 'failed',
      detail: `the server answered ${describeBytes(invalid ?? Buffer.alloc(0))}`,
    };
  return classifyStartupAnswer(first);
}

/** A startup without TLS. */
export async function probePlaintextStartup(
  ctx: ProbeContext,
  user: string,
  database: string,
): Promise<StartupAnswer> {
  try {
    return await withConnection(ctx, (socket, signal) =>
      firstAnswer(socket, user, database, signal),
    );
  } catch (error) {
    if (error instanceof ProbeFailure) return { kind: 'failed', detail: error.message };
    throw error;
  }
}

/** A startup over TLS, with the server's best version. */
export async function probeTlsStartup(
  ctx: ProbeContext,
  route: TlsRoute,
  version: TlsVersion,
  user: string,
  database: string,
): Promise<StartupAnswer> {
  try {
    return await handshake(
      ctx,
      route,
      {
        ...baseTlsOptions(ctx, route),
        minVersion: version,
        maxVersion: version,
        ciphers: cipherStringFor(version, []),
      },
      (outcome, signal) =>
        outcome.ok
          ? firstAnswer(outcome.socket, user, database, signal)
          : { kind: 'failed' as const, detail: outcome.error },
    );
  } catch (error) {
    if (error instanceof ProbeFailure) return { kind: 'failed', detail: error.message };
    throw error;
  }
}
