// How a client connection becomes an admin console session. The virtual database `pgtunnel`
// passes the hba rules like any other; the password (or certificate) is checked by the upstream
// server, as PgBouncer checks its auth source: the gateway relays authentication to
// auth_dbname; then, as PostgreSQL checks CONNECT after login, the user must be in admin_users;
// the gateway ends that server session and answers the console's commands itself.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Settings } from '../../config/settings.js';
import type { ClientRefusal } from '../../gateway/client-leg-parameters.js';
import type { SessionRecord } from '../../gateway/gateway-sessions.js';
import type { ConnectionEnvironment } from '../../gateway/generation.js';
import type { Logger } from '../../log.js';
import { SqlState } from '../../protocol/codes.js';
import { encodeTerminate } from '../../protocol/query-messages.js';
import { PGTUNNEL_VERSION } from '../../version.js';
import { sessionView } from '../session-view.js';
import { consoleAuthority } from './console-link.js';
import { ADMIN_CONSOLE_DATABASE, serveConsoleSession } from './console-session.js';

export { ADMIN_CONSOLE_DATABASE };

/** Whether a connection asks for the admin console rather than a database. */
export function isAdminConsole(database: string | undefined): boolean {
  return database === ADMIN_CONSOLE_DATABASE;
}

/**
 * For a connection to the console by a user not in admin_users: the refusal (42501, as
 * PostgreSQL refuses a database without CONNECT privilege); undefined otherwise.
 */
export function adminConsoleRefusal(
  database: string,
  user: string,
  settings: Settings,
): ClientRefusal | undefined {
  if (!isAdminConsole(database) || settings.admin_users.includes(user)) return undefined;
  return {
    sqlstate: SqlState.INSUFFICIENT_PRIVILEGE,
    message: `permission denied for database "${ADMIN_CONSOLE_DATABASE}"`,
    detail: `User "${user}" is not listed in admin_users.`,
    hint:
      settings.admin_users.length === 0
        ? 'The admin console is off: set admin_users to the users allowed in, then reload.'
        : 'Add the user to admin_users and reload, or connect as one of the users listed there.',
  };
}

/** After the server accepted the login: ends the server session and serves the console. */
export async function runAdminConsole(
  client: Duplex,
  upstream: Socket,
  record: SessionRecord,
  env: ConnectionEnvironment,
  log: Logger,
): Promise<void> {
  upstream.end(encodeTerminate());
  record.state = 'active';
  record.backendPid = undefined;
  log.info({ client: record.clientAddress, user: record.user }, 'admin console session started');
  const authority = consoleAuthority(() =>
    env.registry.list().map((session) => sessionView(session, process.pid)),
  );
  await serveConsoleSession(
    client,
    {
      sessions: () => authority.sessions(),
      reload: () => authority.reload(),
      certificates: () => env.current().certificates ?? [],
      settings: () => env.current().settings,
      version: PGTUNNEL_VERSION,
    },
    log,
  );
}
