// IPv4 clients on a dual-stack socket arrive as ::ffff:a.b.c.d. Such a socket is what systemd
// hands over for `ListenStream=6432`; pg_hba.conf rules written for IPv4 must still match them,
// and refusals must name the IPv4 address, as PostgreSQL (listening on IPv4) would.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { spawn } from '../helpers/children.js';
import { psqlOk, runPsql } from '../helpers/clients.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import { cliArgs, PROJECT_ROOT } from '../helpers/pgtunnel-process.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';

const HBA = `
local     all  all                      trust
hostssl   all  blocked  127.0.0.0/8     reject
hostssl   all  all      127.0.0.1/32    trust
`;

/** The file descriptor behind a listening net.Server (Linux). */
function fdOf(server: Server): number {
  const fd = (server as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('no file descriptor');
  return fd;
}

describe('pg_hba.conf: IPv4 clients on a dual-stack socket', () => {
  let pki: TestPki;
  let cluster: Cluster;
  let dir: string;
  let child: ChildProcess | undefined;
  let port: number;
  let output = '';

  before(async () => {
    pki = await createTestPki();
    cluster = await startCluster();
    await cluster.sql('CREATE ROLE blocked LOGIN');
    dir = mkdtempSync(join(tmpdir(), 'pgtunnel-mapped-'));
    writeFileSync(join(dir, 'pg_hba.conf'), HBA);
    // `::` without ipv6Only: IPv4 connections arrive as IPv4-mapped IPv6 addresses.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen({ port: 0, host: '::' }, resolve));
    const address = server.address();
    port = typeof address === 'object' && address ? address.port : 0;
    const serve = cliArgs([
      'serve',
      '--ssl-cert-file',
      pki.serverCert,
      '--ssl-key-file',
      pki.serverKey,
      '--hba-file',
      join(dir, 'pg_hba.conf'),
      '--upstream',
      `host=${cluster.socketDir} port=${cluster.port} sslmode=disable`,
      '--port',
      '1',
    ]);
    // LISTEN_PID must be pgtunnel's own PID: the shell puts its PID there and exec keeps it.
    child = spawn('sh', ['-c', 'LISTEN_PID=$$ exec "$@"', 'sh', process.execPath, ...serve], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe', fdOf(server)],
      env: { ...process.env, LISTEN_FDS: '1' },
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    while (!output.includes('ready to accept connections') && child.exitCode === null) {
      await delay(100);
    }
    server.close(); // the child has its own copy of the listening socket
    assert.match(output, /ready to accept connections/);
  });
  after(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGINT');
      await once(child, 'exit');
    }
    await cluster?.stop();
    await pki?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const conninfo = (user: string) =>
    `host=localhost hostaddr=127.0.0.1 port=${port} user=${user} dbname=postgres sslmode=verify-full sslrootcert=${pki.caBundle}`;

  it('an IPv4 rule matches ::ffff:127.0.0.1', async () => {
    assert.equal(
      await psqlOk({ conninfo: conninfo('postgres'), sql: 'SELECT current_user' }),
      'postgres',
    );
  });

  it('the refusal names the IPv4 address', async () => {
    const result = await runPsql({ conninfo: conninfo('blocked') });
    assert.notEqual(result.code, 0);
    assert.match(
      result.stderr,
      /FATAL: {2}pg_hba\.conf rejects connection for host "127\.0\.0\.1", user "blocked", database "postgres", SSL encryption/,
    );
  });

  it('IPv6 clients still match only IPv6 rules', async () => {
    const result = await runPsql({
      conninfo: `host=::1 port=${port} user=postgres dbname=postgres sslmode=require`,
    });
    assert.match(
      result.stderr,
      /FATAL: {2}no pg_hba\.conf entry for host "::1", user "postgres", database "postgres", SSL encryption/,
    );
  });
});
