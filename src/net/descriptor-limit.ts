// Checks at start that the process may open enough file descriptors for the connection limits,
// so that max_startup_connections and max_connections run out (with a PostgreSQL error the
// client can read) before descriptors do (a bare close, or connections left in the backlog).
// Node has no API for RLIMIT_NOFILE; Linux shows it in /proc/self/limits. Node raises the soft
// limit to the hard one at start, so the soft value read here is what the process can use.
import { readFileSync } from 'node:fs';

/** Descriptors a process needs besides connections: listeners, log, files, the admin endpoint. */
const RESERVED_DESCRIPTORS = 64;

/** The soft RLIMIT_NOFILE of this process, or undefined where /proc does not show it. */
export function openFileLimit(limitsText = readProcLimits()): number | undefined {
  const line = limitsText?.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
  if (soft === undefined) return undefined;
  if (soft === 'unlimited') return Number.POSITIVE_INFINITY;
  const value = Number(soft);
  return Number.isInteger(value) ? value : undefined;
}

/**
 * Descriptors one process needs at most: every session holds the client's socket and the
 * upstream one, a connection in its startup may hold both too, and as many "dead end"
 * connections (beyond max_startup_connections, waiting to be told "too many clients") hold one.
 */
export function descriptorsNeeded(limits: {
  max_connections: number;
  max_startup_connections: number;
}): number {
  return 2 * limits.max_connections + 3 * limits.max_startup_connections + RESERVED_DESCRIPTORS;
}

/** A warning for the log when `available` cannot hold the limits, else undefined. */
export function descriptorLimitWarning(
  limits: { max_connections: number; max_startup_connections: number },
  available: number | undefined,
): string | undefined {
  if (available === undefined) return undefined;
  const needed = descriptorsNeeded(limits);
  if (available >= needed) return undefined;
  return (
    `the open file limit (ulimit -n) is ${available}, but max_connections = ${limits.max_connections} ` +
    `and max_startup_connections = ${limits.max_startup_connections} need up to ${needed} per worker ` +
    'process: when descriptors run out, new clients are closed without an answer. Raise the limit ' +
    '(LimitNOFILE= in the systemd unit, or ulimit -n) or lower the two settings.'
  );
}

function readProcLimits(): string | undefined {
  try {
    return readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
}
