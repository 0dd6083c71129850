// Where `pgtunnel serve` records its process id when pid_file is not set, so that a bare
// `pgtunnel reload` (or `reload -p PORT`) finds it, as pg_ctl finds its server: one file per
// port, in the user's runtime directory ($XDG_RUNTIME_DIR, else /tmp, where PostgreSQL keeps its
// own .s.PGSQL.<port>.lock).
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export function runtimeDirectory(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_RUNTIME_DIR;
  return xdg && existsSync(xdg) ? xdg : '/tmp';
}

/** `$XDG_RUNTIME_DIR/pgtunnel-6432.pid` (or `/tmp/pgtunnel-6432.pid`). */
export function defaultPidFile(port: number, env: NodeJS.ProcessEnv = process.env): string {
  return join(runtimeDirectory(env), `pgtunnel-${port}.pid`);
}
