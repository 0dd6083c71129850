// A throwaway PostgreSQL for the demo: initdb into a temp dir, reachable only through a unix
// socket there, stopped and removed when the demo ends. Runs as the `postgres` OS user when
// started as root, because PostgreSQL refuses to run as root.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { PgTunnelError } from '../errors.js';
import {
  embeddedPostgres,
  hasSystemPostgres,
  type PostgresInstall,
  systemPostgres,
} from './postgres-binaries.js';

const run = promisify(execFile);
const PORT = 5432;

export interface ThrowawayPostgres {
  /** Directory holding the unix socket `.s.PGSQL.5432`. */
  socketDir: string;
  port: number;
  version: string;
  stop(): Promise<void>;
}

export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const install: PostgresInstall = hasSystemPostgres() ? systemPostgres() : embeddedPostgres();
  const owner = runAsUser();
  const baseDir = await mkdtemp(join(tmpdir(), 'pgtunnel-demo-pg-'));
  await chmod(baseDir, 0o755);
  if (owner) chownSync(baseDir, owner.uid, owner.gid);
  const dataDir = join(baseDir, 'data');
  const env = {
    PATH: process.env.PATH,
    LANG: 'C',
    LC_ALL: 'C',
    ...(install.libDir ? { LD_LIBRARY_PATH: install.libDir } : {}),
  };
  const spawnOptions = { env, ...(owner ? { uid: owner.uid, gid: owner.gid } : {}) };
  try {
    await run(
      join(install.binDir, 'initdb'),
      ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'],
      spawnOptions,
    );
  } catch (error) {
    await rm(baseDir, { recursive: true, force: true });
    throw new PgTunnelError(
      'ERR_UPSTREAM_CONNECT',
      `initdb failed for the demo server: ${(error as Error).message}`,
    );
  }
  const server: ChildProcess = spawn(
    join(install.binDir, 'postgres'),
    [
      '-D',
      dataDir,
      '-c',
      'listen_addresses=',
      '-c',
      `unix_socket_directories=${baseDir}`,
      '-c',
      `port=${PORT}`,
      '-c',
      'fsync=off',
    ],
    { ...spawnOptions, stdio: 'ignore' },
  );
  const deadline = Date.now() + 30_000;
  while (!isReady(dataDir, join(baseDir, `.s.PGSQL.${PORT}`))) {
    if (server.exitCode !== null || Date.now() > deadline) {
      server.kill('SIGKILL');
      await rm(baseDir, { recursive: true, force: true });
      throw new PgTunnelError('ERR_UPSTREAM_CONNECT', 'the demo PostgreSQL server did not start');
    }
    await delay(50);
  }
  const version = readFileSync(join(dataDir, 'PG_VERSION'), 'utf8').trim();
  return {
    socketDir: baseDir,
    port: PORT,
    version,
    async stop() {
      if (server.exitCode === null && server.signalCode === null) {
        const exited = once(server, 'exit');
        server.kill('SIGINT');
        await exited;
      }
      await rm(baseDir, { recursive: true, force: true });
    },
  };
}

function isReady(dataDir: string, socketPath: string): boolean {
  try {
    const lines = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
    return lines[7]?.trim() === 'ready' && existsSync(socketPath);
  } catch {
    return false;
  }
}

function runAsUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (!uid || !gid) {
    throw new PgTunnelError(
      'ERR_UPSTREAM_CONNECT',
      'the demo runs PostgreSQL, which refuses to run as root, and there is no "postgres" user to run it as: run the demo as a normal user',
    );
  }
  return { uid: Number(uid), gid: Number(gid) };
}
