// PgBouncer as a reference point in the benchmark: a mature C proxy terminating the same
// client TLS in front of the same server (session pooling, so each client keeps its server
// connection as with pgtunnel). Used only when Debian's pgbouncer is installed.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { spawn } from '../test/helpers/children.js';
import type { Cluster } from '../test/helpers/pg-cluster.js';
import type { TestPki } from '../test/helpers/pki.js';
import { freePort } from '../test/helpers/ports.js';

const PGBOUNCER = '/usr/sbin/pgbouncer';

export interface PgbouncerReference {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

export async function startPgbouncer(
  cluster: Cluster,
  pki: TestPki,
): Promise<PgbouncerReference | undefined> {
  if (!existsSync(PGBOUNCER)) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'pgtunnel-bench-pgbouncer-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  // PgBouncer refuses to run as root; run it as the same user as PostgreSQL.
  const owner = process.getuid?.() === 0 ? postgresUser() : undefined;
  const key = join(dir, 'server.key');
  copyFileSync(pki.serverKey, key);
  copyFileSync(pki.serverCert, join(dir, 'server.crt'));
  if (owner) chownSync(key, owner.uid, owner.gid);
  writeFileSync(join(dir, 'users.txt'), '"postgres" ""\n');
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `postgres = host=${cluster.socketDir} port=${cluster.port}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'users.txt')}`,
      'pool_mode = session',
      'max_client_conn = 500',
      'default_pool_size = 100',
      'client_tls_sslmode = require',
      `client_tls_key_file = ${key}`,
      `client_tls_cert_file = ${join(dir, 'server.crt')}`,
      'log_connections = 0',
      'log_disconnections = 0',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(PGBOUNCER, [join(dir, 'pgbouncer.ini')], {
    stdio: 'ignore',
    ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
  });
  await delay(1000);
  if (child.exitCode !== null) {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  return {
    port,
    pid: child.pid ?? 0,
    async stop() {
      if (child.exitCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresUser(): { uid: number; gid: number } | undefined {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  return uid && gid ? { uid: Number(uid), gid: Number(gid) } : undefined;
}
