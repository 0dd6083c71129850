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

function readPid(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Throws if `path` names another process that is still running; a stale file (its process
 * gone) is fine. Call it before binding, so a second instance fails before it listens.
 */
export function checkPidFile(path: string, pid: number = process.pid): void {
  const existing = readPid(path);
  if (existing !== undefined && existing !== pid && running(existing)) {
    throw new PgTunnelError(
      'ERR_PID_FILE',
      `PID file "${path}" names process ${existing}, which is still running: stop it or choose another pid file`,
    );
  }
}

/** Writes our PID to `path`; throws if the file names another live process. */
export function writePidFile(path: string, pid: number = process.pid): void {
  checkPidFile(path, pid);
  try {
    writeFileSync(path, `${pid}\n`, { mode: 0o644 });
  } catch (error) {
    throw new PgTunnelError(
      'ERR_PID_FILE',
      `could not write PID file "${path}": ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** Removes the PID file if it still holds our PID. */
export function removePidFile(path: string, pid: number = process.pid): void {
  if (readPid(path) !== pid) return;
  try {
    rmSync(path);
  } catch {
    // already gone
  }
}
