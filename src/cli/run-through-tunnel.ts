// `pgtunnel ssh … -- psql …` and `pgtunnel connect … -- pg_dump …`: runs one command with
// PGHOST/PGPORT (and PGSSLMODE where it applies) pointing at the tunnel, then closes the tunnel
// and exits with the command's status, as `env` or `timeout` pass it on.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/** Where the command's libpq should connect. */
export interface TunnelEndpoint {
  host: string;
  port: number;
  /** PGSSLMODE for the local leg, e.g. `disable` for connect's plaintext endpoint. */
  sslmode?: string;
}

/** The variables libpq reads to reach the endpoint (an IPv6 host without brackets). */
export function tunnelEnvironment(endpoint: TunnelEndpoint): Record<string, string> {
  return {
    PGHOST: endpoint.host.replace(/^\[(.*)\]$/, '$1'),
    PGPORT: String(endpoint.port),
    ...(endpoint.sslmode ? { PGSSLMODE: endpoint.sslmode } : {}),
  };
}

/** The exit status a shell reports: the command's code, or 128 + the signal that ended it. */
export function shellStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
}

/**
 * Runs `argv` with the endpoint's variables, waits for it, closes the tunnel, and returns the
 * status to exit with. The terminal's Ctrl-C reaches the command itself (same process group);
 * SIGTERM sent to pgtunnel is passed on to it. A command that cannot start gives 127 (not
 * found) or 126, as a shell does.
 */
export async function runThroughTunnel(
  argv: readonly string[],
  endpoint: TunnelEndpoint,
  closeTunnel: () => Promise<void>,
): Promise<number> {
  const [file, ...args] = argv;
  if (!file) throw new Error('no command to run');
  const child = spawn(file, args, {
    stdio: 'inherit',
    env: { ...process.env, ...tunnelEnvironment(endpoint) },
  });
  const passOn = (signal: NodeJS.Signals) => child.kill(signal);
  const ignore = () => {};
  process.on('SIGTERM', passOn);
  process.on('SIGHUP', passOn);
  process.on('SIGINT', ignore); // the command decides what Ctrl-C means (psql cancels a query)
  const status = await new Promise<number>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      console.error(`pgtunnel: could not run "${file}": ${error.message}`);
      resolve(error.code === 'ENOENT' ? 127 : 126);
    });
    child.once('exit', (code, signal) => resolve(shellStatus(code, signal)));
  });
  process.off('SIGTERM', passOn);
  process.off('SIGHUP', passOn);
  process.off('SIGINT', ignore);
  await closeTunnel();
  return status;
}

/** Help text of the `[command...]` argument of `ssh` and `connect`. */
export const COMMAND_HELP =
  'after --: run this command with PGHOST/PGPORT set to the tunnel, close it when the command ends, and exit with its status';

/**
 * Splits a command's operands into those before `--` and the command after it (commander
 * hands them over as one list, filling `[destination]` first even from after `--`).
 */
export function operandsAndCommand(
  operands: readonly string[],
  argv: readonly string[] = process.argv,
): { operands: string[]; command: string[] } {
  const dashes = argv.indexOf('--');
  const command = dashes === -1 ? [] : argv.slice(dashes + 1);
  const before = operands.slice(0, Math.max(0, operands.length - command.length));
  if (dashes === -1) return { operands: [...operands], command: [] };
  return { operands: before, command };
}
