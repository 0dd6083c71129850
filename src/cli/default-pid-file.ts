// Where `pgtunnel serve` records its process id when pid_file is not set, so that a bare
// `pgtunnel reload` (or `reload -p PORT`) finds it, as pg_ctl finds its server: one file per
// port, in the user's runtime directory ($XDG_RUNTIME_DIR, else /tmp, where PostgreSQL keeps its
// own .s.PGSQL.<port>.lock).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { removePidFile, writePidFile } from './pid-file.js';

export function runtimeDirectory(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_RUNTIME_DIR;
  return xdg && existsSync(xdg) ? xdg : '/tmp';
}

/** `$XDG_RUNTIME_DIR/pgtunnel-6432.pid` (or `/tmp/pgtunnel-6432.pid`). */
export function defaultPidFile(port: number, env: NodeJS.ProcessEnv = process.env): string {
  return join(runtimeDirectory(env), `pgtunnel-${port}.pid`);
}

/**
 * Writes the default PID file for `port` if it can; it is a convenience, so a failure (a
 * read-only directory, another live process named in it) is a warning, not a reason to stop.
 * Returns a remover to call at exit (a no-op when nothing was written).
 */
export function writeDefaultPidFile(port: number, logger: Logger): () => void {
  const path = defaultPidFile(port);
  try {
    writePidFile(path);
  } catch (error) {
    logger.warn(
      { pid_file: path, err: (error as Error).message },
      'could not write the default PID file; `pgtunnel reload` will need --pid-file or the process id',
    );
    return () => {};
  }
  return () => removePidFile(path);
}
