// The admin console as the gateway runs it (an AdminConsole, given to Gateway.start). The virtual
// database `pgtunnel` passes the hba rules like any other; the password (or certificate) is
// checked by the upstream server, as PgBouncer checks its auth source: the gateway relays
// authentication to auth_dbname, checks admin_users (admin-console-gate.ts), ends that server
// session and calls this, which answers the console's commands.
import type { Duplex } from 'node:stream';
import type { SessionRecord } from '../../gateway/gateway-sessions.js';
import type { AdminConsole, ConnectionEnvironment } from '../../gateway/generation.js';
import type { Logger } from '../../log.js';
import { PGTUNNEL_VERSION } from '../../version.js';
import { sessionView } from '../session-view.js';
import { consoleAuthority } from './console-link.js';
import { serveConsoleSession } from './console-session.js';

/** After the server accepted the login (and its session was ended): serves the console. */
export const runAdminConsole: AdminConsole = async (
  client: Duplex,
  record: SessionRecord,
  env: ConnectionEnvironment,
  log: Logger,
): Promise<void> => {
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
};
