// One admin console session after authentication: reads simple Query messages, runs each
// statement through the command table, and answers as PostgreSQL does (RowDescription,
// DataRow, CommandComplete, ErrorResponse with a SQLSTATE, ReadyForQuery). The extended query
// protocol is refused with an ERROR until the next Sync, so a client's error handling works.
import type { Duplex } from 'node:stream';
import { InvalidMessageError, MessageStream, PeerClosedError } from '../../auth/message-stream.js';
import { describeError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { encodeBackendError, fatal } from '../../protocol/backend-error.js';
import { SqlState } from '../../protocol/codes.js';
import { type ConsoleData, runConsoleCommand } from './console-commands.js';
import { splitStatements } from './console-statements.js';
import {
  encodeEmptyQueryResponse,
  encodeReadyForQuery,
  encodeResultSet,
} from './result-messages.js';

/** Frontend messages of the extended query protocol (Parse, Bind, Describe, Execute, Close, Flush). */
const EXTENDED = new Set(['P', 'B', 'D', 'E', 'C', 'H', 'F']);

export async function serveConsoleSession(
  client: Duplex,
  data: ConsoleData,
  log: Logger,
): Promise<void> {
  const messages = new MessageStream(client, 'client');
  let skipUntilSync = false;
  try {
    for (;;) {
      const message = await messages.next();
      const type = String.fromCharCode(message.type);
      if (type === 'X') return;
      if (type === 'Q') {
        const sql = message.body.toString('utf8', 0, Math.max(0, message.body.length - 1));
        client.write(await answerQuery(sql, data, log));
        continue;
      }
      if (type === 'S') {
        skipUntilSync = false;
        client.write(encodeReadyForQuery());
        continue;
      }
      if (EXTENDED.has(type)) {
        if (!skipUntilSync && type !== 'H') {
          skipUntilSync = true;
          client.write(
            encodeBackendError({
              severity: 'ERROR',
              sqlstate: SqlState.FEATURE_NOT_SUPPORTED,
              message: 'the admin console supports only the simple query protocol',
              hint: 'Send commands without parameters (psql does; node-postgres does for a query without values).',
            }),
          );
        }
        continue;
      }
      client.write(
        fatal(SqlState.PROTOCOL_VIOLATION, `invalid frontend message type ${message.type}`),
      );
      return;
    }
  } catch (error) {
    if (error instanceof PeerClosedError) return;
    if (error instanceof InvalidMessageError) {
      client.write(fatal(SqlState.PROTOCOL_VIOLATION, 'invalid frontend message'));
      return;
    }
    throw error;
  } finally {
    messages.detach();
  }
}

/** The whole reply to one Query message, ending with ReadyForQuery. */
async function answerQuery(sql: string, data: ConsoleData, log: Logger): Promise<Buffer> {
  const statements = splitStatements(sql);
  const parts: Buffer[] = [];
  if (statements.length === 0) parts.push(encodeEmptyQueryResponse());
  for (const statement of statements) {
    let outcome: Awaited<ReturnType<typeof runConsoleCommand>>;
    try {
      outcome = await runConsoleCommand(statement, data);
    } catch (error) {
      log.error({ err: describeError(error), command: statement }, 'admin console command failed');
      outcome = {
        ok: false,
        error: {
          sqlstate: SqlState.INTERNAL_ERROR,
          message: `could not run "${statement}": ${describeError(error)}`,
        },
      };
    }
    if (statement.toUpperCase() === 'RELOAD') {
      log.info({ ok: outcome.ok }, 'reload requested from the admin console');
    }
    if (!outcome.ok) {
      // As in PostgreSQL's simple query protocol: an error ends the rest of the Query.
      parts.push(encodeBackendError({ severity: 'ERROR', ...outcome.error }));
      break;
    }
    parts.push(encodeResultSet(outcome.result));
  }
  parts.push(encodeReadyForQuery());
  return Buffer.concat(parts);
}
