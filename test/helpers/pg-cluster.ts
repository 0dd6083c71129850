// A disposable PostgreSQL cluster per test: a copy of the run's template data directory (one
// initdb per flavor per run) in a temp dir, a random port, our own pg_hba.conf and optional TLS.
// Runs the server as the `postgres` OS user when tests run as root.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { appendFile, chmod, chown, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import {
  clientBinary,
  type PostgresFlavor,
  type PostgresInstall,
  postgresInstall,
} from '../../src/demo/postgres-binaries.js';
import { spawn, trackDir } from './children.js';
import { freePort } from './ports.js';
import { type RunResult, run } from './run.js';

export interface ClusterSsl {
  certFile: string;
  keyFile: string;
  caFile?: string;
  crlFile?: string;
}

export interface ClusterOptions {
  /** 'system' = Debian's PostgreSQL (15 here); 'embedded' = PostgreSQL 18 from npm. */
  flavor?: PostgresFlavor;
  /** Turns ssl on with these files (copied into the data directory with the right owner). */
  ssl?: ClusterSsl;
  /** Full pg_hba.conf text. Default: trust for local and loopback TCP. */
  hba?: string;
  /** Extra postgresql.conf settings, written as `key = 'value'`. */
  settings?: Record<string, string>;
}

export interface Cluster {
  readonly flavor: PostgresFlavor;
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Directory of the unix socket (`.s.PGSQL.<port>`). */
  readonly socketDir: string;
  readonly dataDir: string;
  readonly superuser: 'postgres';
  readonly majorVersion: number;
  /** Runs SQL as the superuser over the unix socket; resolves to psql's unaligned output. */
  sql(query: string, database?: string): Promise<string>;
  /** Replaces pg_hba.conf and reloads. */
  setHba(text: string): Promise<void>;
  /** Adds settings to postgresql.conf and reloads (or restarts when `restart`). */
  configure(settings: Record<string, string>, options?: { restart?: boolean }): Promise<void>;
  /** Copies new TLS files in and reloads. */
  setSsl(ssl: ClusterSsl | undefined): Promise<void>;
  /** Stops the server and removes its files (the end of a test). */
  stop(): Promise<void>;
  /** Stops the server (fast shutdown) but keeps its data, for a later start(). */
  halt(): Promise<void>;
  /** Starts a halted server again on the same port. */
  start(): Promise<void>;
  /** Server log so far, for assertions and failure messages. */
  log(): string;
  [Symbol.asyncDispose](): Promise<void>;
}

const DEFAULT_HBA = [
  'local all all trust',
  'host all all 127.0.0.1/32 trust',
  'host all all ::1/128 trust',
  '',
].join('\n');

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const install = postgresInstall(options.flavor ?? 'system');
  const owner = serverOwner();
  const baseDir = await mkdtemp(join(tmpdir(), 'pgtunnel-pg-'));
  const dataDir = join(baseDir, 'data');
  const socketDir = join(baseDir, 'sock');
  await mkdir(socketDir, { mode: 0o777 });
  await chmod(baseDir, 0o755);
  if (owner) {
    await chown(baseDir, owner.uid, owner.gid);
    await chown(socketDir, owner.uid, owner.gid);
  }
  const env = serverEnv(install);
  try {
    const template = await templateDataDir(install, owner);
    // cp -a keeps the owner and the 0700 mode PostgreSQL insists on.
    const copy = await run('cp', ['-a', template, dataDir], { timeoutMs: 120_000 });
    if (copy.code !== 0)
      throw new Error(`copying the template data directory failed: ${copy.stderr}`);
  } catch (error) {
    await rm(baseDir, { recursive: true, force: true });
    throw error;
  }
  const port = await freePort();
  const logFile = join(baseDir, 'server.log');
  const majorVersion = Number(readFileSync(join(dataDir, 'PG_VERSION'), 'utf8').trim());
  const confPath = join(dataDir, 'postgresql.conf');

  const writeOwned = (path: string, content: string | Buffer, mode = 0o600) => {
    writeFileSync(path, content, { mode });
    if (owner) chownSync(path, owner.uid, owner.gid);
  };
  const copyOwned = (from: string, name: string, mode = 0o600) => {
    const target = join(dataDir, name);
    copyFileSync(from, target);
    if (owner) chownSync(target, owner.uid, owner.gid);
    return chmod(target, mode).then(() => name);
  };

  const conf = (settings: Record<string, string>) =>
    Object.entries(settings)
      .map(([key, value]) => `${key} = '${value.replaceAll("'", "''")}'\n`)
      .join('');

  const sslSettings = async (ssl: ClusterSsl | undefined): Promise<Record<string, string>> => {
    if (!ssl) return { ssl: 'off' };
    const settings: Record<string, string> = {
      ssl: 'on',
      ssl_cert_file: await copyOwned(ssl.certFile, 'server.crt', 0o644),
      ssl_key_file: await copyOwned(ssl.keyFile, 'server.key'),
      ssl_ca_file: ssl.caFile ? await copyOwned(ssl.caFile, 'root.crt', 0o644) : '',
      ssl_crl_file: ssl.crlFile ? await copyOwned(ssl.crlFile, 'root.crl', 0o644) : '',
    };
    return settings;
  };

  await appendFile(
    confPath,
    conf({
      port: String(port),
      listen_addresses: '127.0.0.1',
      unix_socket_directories: socketDir,
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      max_connections: '100',
      shared_buffers: '64MB',
      log_min_messages: 'warning',
      ...(await sslSettings(options.ssl)),
      ...options.settings,
    }),
  );
  writeOwned(join(dataDir, 'pg_hba.conf'), options.hba ?? DEFAULT_HBA);

  let server: ChildProcess | undefined;
  let logText = '';

  const start = async () => {
    server = spawn(join(install.binDir, 'postgres'), ['-D', dataDir], {
      env,
      uid: owner?.uid,
      gid: owner?.gid,
      stdio: ['ignore', 'pipe', 'pipe'],
      reapSignal: 'SIGQUIT', // immediate shutdown: quick, and still removes shared memory
    });
    const child = server;
    const capture = (chunk: Buffer) => {
      logText += chunk.toString();
      void appendFile(logFile, chunk).catch(() => {});
    };
    child.stdout?.on('data', capture);
    child.stderr?.on('data', capture);
    // Until it is ready or exits; a hang is the runner's per-file limit to catch.
    while (!isReady(dataDir, socketDir, port)) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`postgres exited during start-up:\n${logText}`);
      }
      await delay(50);
    }
  };

  const stop = async () => {
    const child = server;
    server = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGINT'); // fast shutdown: disconnects sessions, no checkpoint wait for clients
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  const sql = async (query: string, database = 'postgres') => {
    const result = await runAsSuperuser(socketDir, port, database, query);
    if (result.code !== 0) throw new Error(`psql failed: ${result.stderr.trim()}\nquery: ${query}`);
    return result.stdout.trimEnd();
  };

  const reload = async () => {
    // The postmaster reloads asynchronously after the signal: wait until a new session sees
    // the new load (pg_conf_load_time changes), not for a while.
    const before = await sql('SELECT pg_conf_load_time()');
    await sql('SELECT pg_reload_conf()');
    while ((await sql('SELECT pg_conf_load_time()')) === before) await delay(20);
  };

  try {
    await start();
  } catch (error) {
    await stop().catch(() => {});
    await rm(baseDir, { recursive: true, force: true });
    throw error;
  }

  const cluster: Cluster = {
    flavor: install.flavor,
    host: '127.0.0.1',
    port,
    socketDir,
    dataDir,
    superuser: 'postgres',
    majorVersion,
    sql,
    async setHba(text) {
      writeOwned(join(dataDir, 'pg_hba.conf'), text);
      await reload();
    },
    async configure(settings, configureOptions) {
      await appendFile(confPath, conf(settings));
      if (configureOptions?.restart) {
        await stop();
        await start();
      } else {
        await reload();
      }
    },
    async setSsl(ssl) {
      await appendFile(confPath, conf(await sslSettings(ssl)));
      await reload();
    },
    stop,
    halt: stop,
    start,
    log: () => logText,
    async [Symbol.asyncDispose]() {
      await stop();
      await rm(baseDir, { recursive: true, force: true });
    },
  };
  // Tests call stop() in after-hooks; make it also remove the temp dir.
  cluster.stop = async () => {
    await cluster[Symbol.asyncDispose]();
  };
  return cluster;
}

const templates = new Map<PostgresFlavor, Promise<string>>();

/**
 * The data directory every cluster of this flavor starts as, made by one initdb: under
 * scripts/run-tests.sh it is shared by the whole run (its root holds it, and the runner removes
 * it); a file run on its own makes one for itself, removed when it ends.
 */
function templateDataDir(
  install: PostgresInstall,
  owner: { uid: number; gid: number } | undefined,
): Promise<string> {
  let template = templates.get(install.flavor);
  if (!template) {
    template = makeTemplate(install, owner);
    templates.set(install.flavor, template);
    template.catch(() => templates.delete(install.flavor)); // let a later cluster try again
  }
  return template;
}

async function makeTemplate(
  install: PostgresInstall,
  owner: { uid: number; gid: number } | undefined,
): Promise<string> {
  const runRoot = process.env.PGTUNNEL_TEST_RUN;
  const parent = runRoot
    ? join(runRoot, 'templates')
    : trackDir(await mkdtemp(join(tmpdir(), 'pgtunnel-template-')));
  await mkdir(parent, { recursive: true, mode: 0o755 });
  await chmod(parent, 0o755);
  const dir = join(parent, install.flavor);
  if (existsSync(join(dir, 'PG_VERSION'))) return dir;
  // Test files run side by side: each makes its own, the first rename wins, the others use it.
  const own = `${dir}.${process.pid}`;
  await rm(own, { recursive: true, force: true });
  await mkdir(own, { mode: 0o700 });
  if (owner) await chown(own, owner.uid, owner.gid);
  const initdb = await run(
    join(install.binDir, 'initdb'),
    ['-D', own, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'],
    { env: serverEnv(install), uid: owner?.uid, gid: owner?.gid, timeoutMs: 300_000 },
  );
  if (initdb.code !== 0) {
    await rm(own, { recursive: true, force: true });
    throw new Error(`initdb failed (${initdb.code}):\n${initdb.stdout}\n${initdb.stderr}`);
  }
  try {
    await rename(own, dir);
  } catch (error) {
    await rm(own, { recursive: true, force: true });
    if (!existsSync(join(dir, 'PG_VERSION'))) throw error;
  }
  return dir;
}

/** postmaster.pid line 8 says "ready" once the server accepts connections. */
function isReady(dataDir: string, socketDir: string, port: number): boolean {
  try {
    const lines = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
    return lines[7]?.trim() === 'ready' && existsSync(join(socketDir, `.s.PGSQL.${port}`));
  } catch {
    return false;
  }
}

/** PostgreSQL refuses to run as root; when we are root it runs as the `postgres` user. */
function serverOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const passwd = readFileSync('/etc/passwd', 'utf8');
    const line = passwd.split('\n').find((l) => l.startsWith('postgres:'));
    const [, , uid, gid] = line?.split(':') ?? [];
    if (uid && gid) return { uid: Number(uid), gid: Number(gid) };
  } catch {
    // fall through to the error below
  }
  throw new Error(
    `tests run as root (${userInfo().username}) but there is no "postgres" user to run the ` +
      'server as: install the Debian package "postgresql", or run the tests as a normal user',
  );
}

function serverEnv(install: PostgresInstall): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, LANG: 'C', LC_ALL: 'C' };
  if (install.libDir) env.LD_LIBRARY_PATH = install.libDir;
  return env;
}

function runAsSuperuser(
  socketDir: string,
  port: number,
  database: string,
  query: string,
): Promise<RunResult> {
  // Debian's psql talks to either server version over the unix socket.
  return run(
    clientBinary('psql'),
    [
      '-X',
      '-A',
      '-t',
      '-v',
      'ON_ERROR_STOP=1',
      '-h',
      socketDir,
      '-p',
      String(port),
      '-U',
      'postgres',
      '-d',
      database,
      '-c',
      query,
    ],
    { env: { PATH: process.env.PATH, PGCONNECT_TIMEOUT: '10' } },
  );
}
