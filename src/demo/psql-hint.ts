// Where psql is, and how to install it on this system when it is not: the demo's connection
// command is only useful with a psql to run it.
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { hasSystemPostgres, systemPostgres } from './postgres-binaries.js';

/** Install commands by os-release ID (or an ID_LIKE family), first match wins. */
export const PSQL_PACKAGES: ReadonlyArray<{ ids: readonly string[]; command: string }> = [
  { ids: ['debian', 'ubuntu'], command: 'sudo apt-get install postgresql-client' },
  {
    ids: ['fedora', 'rhel', 'centos', 'rocky', 'almalinux'],
    command: 'sudo dnf install postgresql',
  },
  { ids: ['alpine'], command: 'sudo apk add postgresql-client' },
  { ids: ['arch'], command: 'sudo pacman -S postgresql-libs' },
  { ids: ['suse', 'opensuse'], command: 'sudo zypper install postgresql' },
];

/** The install command for an os-release text, or undefined for an unknown system. */
export function psqlInstallCommand(osRelease: string): string | undefined {
  const field = (name: string) =>
    new RegExp(`^${name}="?([^"\\n]*)"?$`, 'm').exec(osRelease)?.[1]?.toLowerCase().split(/\s+/) ??
    [];
  const ids = [...field('ID'), ...field('ID_LIKE')];
  for (const id of ids) {
    const entry = PSQL_PACKAGES.find((p) =>
      p.ids.some((known) => id === known || id.startsWith(`${known}-`)),
    );
    if (entry) return entry.command;
  }
  return undefined;
}

/** psql on PATH, or Debian's packaged one; undefined when there is none. */
export function findPsql(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'psql'))) return join(dir, 'psql');
  }
  if (hasSystemPostgres()) {
    const packaged = join(systemPostgres().binDir, 'psql');
    if (existsSync(packaged)) return packaged;
  }
  return undefined;
}

/** "psql is not installed: …" with this system's install command. */
export function psqlMissingHint(platform: NodeJS.Platform = process.platform): string {
  if (platform === 'darwin')
    return 'psql is not installed: brew install libpq (then brew link --force libpq)';
  let osRelease = '';
  try {
    osRelease = readFileSync('/etc/os-release', 'utf8');
  } catch {
    // no os-release: the generic hint below
  }
  const command = psqlInstallCommand(osRelease);
  return command
    ? `psql is not installed: ${command}`
    : "psql is not installed: install your system's PostgreSQL client package (it holds psql)";
}
