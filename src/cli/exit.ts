// Exit codes and the one place that turns an error into a message and an exit status.
import { describeError, PgTunnelError } from '../errors.js';

export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  CONFIG: 3,
} as const;

export function exitWithError(error: unknown): never {
  const message = describeError(error);
  console.error(`pgtunnel: ${message}`);
  if (error instanceof PgTunnelError) {
    if (error.code === 'ERR_USAGE') process.exit(ExitCode.USAGE);
    if (
      error.code.startsWith('ERR_CONFIG') ||
      error.code.startsWith('ERR_HBA') ||
      error.code === 'ERR_INHERITED_SOCKET'
    ) {
      process.exit(ExitCode.CONFIG);
    }
  }
  process.exit(ExitCode.FAILURE);
}
