// PID files (stunnel's `pid =`, PostgreSQL's external_pid_file): written once the process is
// ready, removed at exit, and refused when it names a process that is still running.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { PgTunnelError } from '../errors.js';

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Writes our PID to `path`; throws if the file names another live process. */
export function writePidFile(path: string, pid: number = process.pid): void {
  let existing: number | undefined;
  try {
    existing = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
  } catch {
    existing = undefined;
  }
  if (existing && existing !== pid && running(existing)) {
    throw new PgTunnelError(
      'ERR_LISTEN',
      `PID file "${path}" names process ${existing}, which is still running: stop it or choose another pid file`,
    );
  }
  try {
    writeFileSync(path, `${pid}\n`, { mode: 0o644 });
  } catch (error) {
    throw new PgTunnelError(
      'ERR_LISTEN',
      `could not write PID file "${path}": ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** Removes the PID file if it still holds our PID. */
export function removePidFile(path: string, pid: number = process.pid): void {
  try {
    if (Number.parseInt(readFileSync(path, 'utf8').trim(), 10) === pid) rmSync(path);
  } catch {
    // already gone
  }
}
