// Runs auth_query for one user on a fresh upstream session as auth_user (same target and
// sslmode as client sessions): log in, one extended-protocol query with the user name as $1
// (so no quoting is involved), Terminate.
import type { TLSSocket } from 'node:tls';
import { MessageStream, PeerClosedError } from '../../auth/message-stream.js';
import { openFirstUpstreamSession, type UpstreamTarget } from '../../libpq/upstream-session.js';
import { decodeErrorFields } from '../../protocol/backend-error.js';
import { BackendMessage } from '../../protocol/codes.js';
import { encodeStartupMessage } from '../../protocol/frontend.js';
import type { Message } from '../../protocol/message-reader.js';
import {
  decodeDataRow,
  encodeExtendedQuery,
  encodeTerminate,
  QueryReply,
} from '../../protocol/query-messages.js';
import { LoginError, loginAs } from './auth-secret-login.js';
import { ServerRefusedError } from './scram-upstream.js';

/** Where and how to run auth_query. */
export interface AuthQueryOptions {
  /** Where auth_user logs in: the first of them that accepts. */
  upstreams: readonly UpstreamTarget[];
  authUser: string;
  authDbname: string;
  authQuery: string;
  /** auth_user's password for the server it reached, read when that server asks for one. */
  password: (target: UpstreamTarget) => string | undefined;
}

/** "FATAL:  message" from an ErrorResponse, for the log. */
function serverError(message: Message): string {
  const fields = decodeErrorFields(message.body);
  return `${fields.get('S') ?? 'ERROR'}:  ${fields.get('M') ?? ''}`;
}

/**
 * The user's secret: the last column of the first row (so both `SELECT rolpassword …` and
 * PgBouncer's two-column `SELECT usename, passwd …` work), or null when there is no row or
 * the value is NULL. Throws LoginError (with the server's message) on any failure.
 */
export async function runAuthQuery(
  options: AuthQueryOptions,
  user: string,
  signal: AbortSignal,
): Promise<string | null> {
  const startup = encodeStartupMessage([
    ['user', options.authUser],
    ['database', options.authDbname],
    ['application_name', 'pgtunnel auth_query'],
    ['client_encoding', 'UTF8'],
  ]);
  const session = await openFirstUpstreamSession(options.upstreams, startup, { signal });
  const { socket } = session;
  socket.on('error', () => {}); // reported as a close
  const onAbort = () => socket.destroy();
  signal.addEventListener('abort', onAbort, { once: true });
  const messages = new MessageStream(socket, 'server', session.firstBytes);
  const certificate = session.tls
    ? (socket as TLSSocket).getPeerCertificate(false)?.raw
    : undefined;
  try {
    await loginAs(
      { socket, messages, certificate },
      {
        user: options.authUser,
        password: options.password(session.target),
      },
    );
    socket.write(encodeExtendedQuery(options.authQuery, [user]));
    let secret: string | null | undefined;
    for (;;) {
      const message = await messages.next();
      if (message.type === BackendMessage.ErrorResponse) throw new ServerRefusedError(message);
      if (message.type === QueryReply.DataRow && secret === undefined) {
        const row = decodeDataRow(message.body);
        secret = row.length === 0 ? null : (row[row.length - 1] ?? null);
      }
      if (message.type === BackendMessage.ReadyForQuery) break;
    }
    socket.end(encodeTerminate());
    return secret ?? null;
  } catch (error) {
    socket.destroy();
    if (signal.aborted) throw signal.reason;
    if (error instanceof ServerRefusedError) {
      throw new LoginError(
        `auth_query as "${options.authUser}" failed: ${serverError(error.response)}`,
        { cause: error },
      );
    }
    if (error instanceof PeerClosedError) {
      throw new LoginError(
        `the server closed the auth_query connection as "${options.authUser}" unexpectedly`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
