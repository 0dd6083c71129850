// `pgtunnel connect` driven through the CLI with real psql: plaintext to the local end (TCP and
// a unix socket directory), verify-full TLS to a native PostgreSQL and to `pgtunnel serve`;
// wrong CA and wrong host reach psql as a FATAL with libpq's words; cancel passes through;
// local clients asking for TLS get 'N', or TLS (also direct TLS) when the tunnel serves it;
// with no connection string, PG* variables and ~/.postgresql decide, as for libpq.
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sendCancelRequest } from '../../src/libpq/cancel.js';
import { openUpstreamSession, type UpstreamTarget } from '../../src/libpq/upstream-session.js';
import { decodeErrorFields } from '../../src/protocol/backend-error.js';
import { encodeStartupMessage } from '../../src/protocol/frontend.js';
import { MessageReader } from '../../src/protocol/message-reader.js';
import { psqlOk, runPsql } from '../helpers/clients.js';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import { type PgtunnelProcess, startPgtunnel } from '../helpers/pgtunnel-process.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';

const SSL_IN_USE = 'SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()';

describe('pgtunnel connect with psql', () => {
  let pki: TestPki;
  let cluster: Cluster;
  let gatewayEnv: GatewayEnv;
  let dir: string;
  let cli: PgtunnelProcess;
  let fromFile: PgtunnelProcess;
  let fromEnv: PgtunnelProcess;
  let cliPort: number;
  const ports: Record<string, number> = {};
  /** Ports nothing listens on. */
  let down: number[] = [];

  before(async () => {
    pki = await createTestPki();
    [cluster, gatewayEnv] = await Promise.all([
      // with ssl_ca_file the server asks for (and checks) a client certificate, not requiring one
      startCluster({
        ssl: { certFile: pki.serverCert, keyFile: pki.serverKey, caFile: pki.caBundle },
      }),
      startGatewayEnv({ pki }),
    ]);
    dir = mkdtempSync(join(tmpdir(), 'pgtunnel-connect-'));
    cliPort = await freePort();
    // the command-line form, with a URI and two listeners (TCP and a socket directory)
    const uri = `postgresql://localhost:${cluster.port}/?sslmode=verify-full&sslrootcert=${encodeURIComponent(pki.caBundle)}`;
    cli = await startPgtunnel([
      'connect',
      '--listen',
      `127.0.0.1:${cliPort}`,
      '--listen',
      `${dir}:${cliPort}`,
      uri,
    ]);
    for (const name of ['wrongca', 'wronghost', 'localtls', 'gateway', 'failover', 'alldown'])
      ports[name] = await freePort();
    down = [await freePort(), await freePort()];
    const config = [
      '; tunnels for the failure cases, local TLS and the gateway',
      `pid = ${join(dir, 'connect.pid')}`,
      '',
      '[wrongca]',
      `accept = 127.0.0.1:${ports.wrongca}`,
      `connect = host=localhost port=${cluster.port} sslmode=verify-full`,
      `sslrootcert = ${pki.untrustedRootCert}`,
      '',
      '[wronghost]',
      `accept = 127.0.0.1:${ports.wronghost}`,
      `connect = host=db.wrong.example hostaddr=127.0.0.1 port=${cluster.port}`,
      'sslmode = verify-full',
      `sslrootcert = ${pki.caBundle}`,
      '',
      '[localtls]',
      `accept = 127.0.0.1:${ports.localtls}`,
      `connect = localhost:${cluster.port}`,
      `sslrootcert = ${pki.caBundle}`,
      'sslmode = verify-ca',
      `local_sslcert = ${pki.serverCert}`,
      `local_sslkey = ${pki.serverKey}`,
      '',
      '[gateway]',
      `accept = 127.0.0.1:${ports.gateway}`,
      `connect = host=localhost port=${gatewayEnv.port} sslmode=verify-full sslrootcert=${pki.caBundle}`,
      '',
      '; several hosts: the first is down, the second answers',
      '[failover]',
      `accept = 127.0.0.1:${ports.failover}`,
      `connect = postgresql://127.0.0.1:${down[0]},localhost:${cluster.port}/?sslmode=verify-full`,
      `sslrootcert = ${pki.caBundle}`,
      '',
      '[alldown]',
      `accept = 127.0.0.1:${ports.alldown}`,
      `connect = host=127.0.0.1,127.0.0.1 port=${down.join(',')} sslmode=require`,
      '',
    ].join('\n');
    const file = join(dir, 'connect.conf');
    writeFileSync(file, config);
    fromFile = await startPgtunnel(['connect', '--config', file]);

    // no connection string: PGHOST, PGPORT, PGSSLMODE and ~/.postgresql say everything
    const home = join(dir, 'home');
    mkdirSync(join(home, '.postgresql'), { recursive: true });
    copyFileSync(pki.caBundle, join(home, '.postgresql', 'root.crt'));
    const client = await pki.client('postgres');
    copyFileSync(client.cert, join(home, '.postgresql', 'postgresql.crt'));
    copyFileSync(client.key, join(home, '.postgresql', 'postgresql.key'));
    chmodSync(join(home, '.postgresql', 'postgresql.key'), 0o600);
    ports.env = await freePort();
    fromEnv = await startPgtunnel(['connect', '--listen', `${dir}:${ports.env}`], {
      env: {
        HOME: home,
        PGHOST: 'localhost',
        PGPORT: String(cluster.port),
        PGSSLMODE: 'verify-full',
      },
    });
  });
  after(async () => {
    await Promise.all([cli?.stop(), fromFile?.stop(), fromEnv?.stop()]);
    await Promise.all([cluster?.stop(), gatewayEnv?.close()]);
    await pki?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const local = (port: number, extra = '') =>
    `host=127.0.0.1 port=${port} user=postgres dbname=postgres sslmode=disable ${extra}`.trim();

  it('carries psql over TCP to PostgreSQL with verify-full TLS', async () => {
    const out = await psqlOk({ conninfo: local(cliPort), sql: SSL_IN_USE });
    assert.match(out, /^t\|TLSv1\.[23]$/);
  });

  it('listens on a socket directory, so psql -h DIR works', async () => {
    const out = await psqlOk({
      conninfo: `host=${dir} port=${cliPort} user=postgres dbname=postgres`,
      sql: SSL_IN_USE,
    });
    assert.match(out, /^t\|TLSv1\.[23]$/);
  });

  it("answers a local SSLRequest with 'N': prefer goes on, require fails as libpq says", async () => {
    const prefer = await psqlOk({
      conninfo: `host=127.0.0.1 port=${cliPort} user=postgres sslmode=prefer`,
      sql: SSL_IN_USE,
    });
    assert.match(prefer, /^t\|/); // the upstream leg is TLS whatever the local one is
    const require = await runPsql({
      conninfo: `host=127.0.0.1 port=${cliPort} user=postgres sslmode=require`,
    });
    assert.notEqual(require.code, 0);
    assert.match(require.stderr, /server does not support SSL, but SSL was required/);
  });

  it('reports a wrong CA to psql as a FATAL with libpq’s message', async () => {
    const result = await runPsql({ conninfo: local(ports.wrongca as number) });
    assert.notEqual(result.code, 0);
    assert.match(
      result.stderr,
      new RegExp(
        `FATAL: {2}connection to server at "localhost" \\(127\\.0\\.0\\.1\\), port ${cluster.port} failed: SSL error: certificate verify failed: unable to get local issuer certificate`,
      ),
    );
    assert.match(
      result.stderr,
      /pgtunnel could not open the upstream connection for tunnel "wrongca"/,
    );
  });

  it('reports a wrong host name to psql, with SQLSTATE 08001', async () => {
    const result = await runPsql({ conninfo: local(ports.wronghost as number) });
    assert.notEqual(result.code, 0);
    assert.match(
      result.stderr,
      /FATAL: {2}connection to server at "127\.0\.0\.1", port \d+ failed: server certificate for "localhost" \(and 2 other names\) does not match host name "db\.wrong\.example"/,
    );
    // the same failure as a client library sees it: an ErrorResponse, not a bare close
    const session = await openUpstreamSession(
      { host: '127.0.0.1', port: ports.wronghost as number, sslmode: 'disable' },
      encodeStartupMessage([['user', 'postgres']]),
    );
    const reply = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      session.socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      session.socket.once('end', () => resolve(Buffer.concat(chunks)));
      session.socket.resume();
    });
    session.socket.destroy();
    assert.equal(String.fromCharCode(reply[0] ?? 0), 'E');
    const fields = decodeErrorFields(reply.subarray(5));
    assert.equal(fields.get('S'), 'FATAL');
    assert.equal(fields.get('C'), '08001');
  });

  it('serves TLS to local clients that ask, including direct TLS from libpq 18', async () => {
    const verified = await psqlOk({
      conninfo: `host=localhost port=${ports.localtls} user=postgres sslmode=verify-full sslrootcert=${pki.caBundle}`,
      sql: 'SELECT 1',
    });
    assert.equal(verified, '1');
    const direct = await psqlOk({
      conninfo: `host=localhost port=${ports.localtls} user=postgres sslmode=verify-full sslnegotiation=direct sslrootcert=${pki.caBundle}`,
      libpq: '18',
      sql: SSL_IN_USE,
    });
    assert.match(direct, /^t\|/);
  });

  it('passes a cancel request on to the server', async () => {
    const target: UpstreamTarget = { host: '127.0.0.1', port: cliPort, sslmode: 'disable' };
    const session = await openUpstreamSession(
      target,
      encodeStartupMessage([
        ['user', 'postgres'],
        ['database', 'postgres'],
      ]),
    );
    const reader = new MessageReader();
    let key: { pid: number; secret: Buffer } | undefined;
    const messages: string[] = [];
    let onMessage = () => {};
    session.socket.on('data', (chunk: Buffer) => {
      for (const message of reader.push(chunk)) {
        const type = String.fromCharCode(message.type);
        if (type === 'K') {
          key = {
            pid: message.body.readUInt32BE(0),
            secret: Buffer.from(message.body.subarray(4)),
          };
        }
        if (type === 'E') messages.push(decodeErrorFields(message.body).get('C') ?? '');
        if (type === 'Z') messages.push('ready');
        onMessage();
      }
    });
    session.socket.resume();
    const waitFor = (predicate: () => boolean) =>
      new Promise<void>((resolve) => {
        onMessage = () => {
          if (predicate()) resolve();
        };
        onMessage();
      });
    await waitFor(() => messages.includes('ready'));
    assert.ok(key);
    const query = Buffer.from('SELECT pg_sleep(30)\0');
    const header = Buffer.alloc(5);
    header[0] = 0x51;
    header.writeUInt32BE(query.length + 4, 1);
    session.socket.write(Buffer.concat([header, query]));
    for (;;) {
      const active = await cluster.sql(
        "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'",
      );
      if (active === '1') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await sendCancelRequest(target, key.pid, key.secret);
    await waitFor(() => messages.includes('57014'));
    session.socket.destroy();
    assert.match(fromFile.output() + cli.output(), /forwarded cancel request/);
  });

  it('takes the server from PG* variables and the files from ~/.postgresql, as libpq does', async () => {
    const out = await psqlOk({
      conninfo: `host=${dir} port=${ports.env} user=postgres dbname=postgres`,
      sql: 'SELECT ssl, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
    });
    // verify-full passed with ~/.postgresql/root.crt; ~/.postgresql/postgresql.crt was sent
    assert.equal(out, 't|/CN=postgres');
    assert.match(fromEnv.output(), /"upstream":"localhost:\d+ \(verify-full\)"/);
  });

  it('tries the next host when one is down, and lists every failure when all are', async () => {
    const out = await psqlOk({ conninfo: local(ports.failover as number), sql: SSL_IN_USE });
    assert.match(out, /^t\|TLSv1\.[23]$/);
    const result = await runPsql({ conninfo: local(ports.alldown as number) });
    assert.notEqual(result.code, 0);
    assert.match(
      result.stderr,
      new RegExp(
        `FATAL: {2}connection to server at "127\\.0\\.0\\.1", port ${down[0]} failed: Connection refused\n` +
          `connection to server at "127\\.0\\.0\\.1", port ${down[1]} failed: Connection refused\n` +
          'DETAIL: {2}pgtunnel could not open the upstream connection for tunnel "alldown"\\.\n' +
          'HINT: {2}Is the server running on that host and accepting TCP/IP connections\\?',
      ),
    );
  });

  it('chains to pgtunnel serve with verify-full', async () => {
    const out = await psqlOk({
      conninfo: local(ports.gateway as number),
      sql: 'SELECT current_user',
    });
    assert.equal(out, 'postgres');
  });

  it('writes the PID file named in the config file', async () => {
    const { readFileSync } = await import('node:fs');
    assert.equal(readFileSync(join(dir, 'connect.pid'), 'utf8').trim(), String(fromFile.child.pid));
  });
});
