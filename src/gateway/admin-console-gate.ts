// The admin console's door in the gateway: the virtual database that opens it, and who may go
// in (admin_users, checked after login as PostgreSQL checks CONNECT). The console itself
// (src/admin/console) is handed to the gateway by whoever starts it, as an AdminConsole
// (generation.ts).
import type { Settings } from '../config/settings.js';
import { SqlState } from '../protocol/codes.js';
import type { ClientRefusal } from './client-leg-parameters.js';

/** The name of the virtual database that opens the console, as `pgbouncer` opens PgBouncer's. */
export const ADMIN_CONSOLE_DATABASE = 'pgtunnel';

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
