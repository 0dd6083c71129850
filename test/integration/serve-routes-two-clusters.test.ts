// Two PostgreSQL clusters behind one gateway port, with two workers: the TLS server name a
// client sends (SNI, over SSLRequest or direct TLS) chooses the route, its certificate, its
// hba rules and its cluster; a client without a server name is routed by database; unknown
// server names get the main configuration or a refusal; a reload adds and changes routes on
// every worker, and a broken routes file keeps the routes in effect.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import pg from 'pg';
import { encodeCancelRequest, encodeSslRequest } from '../../src/protocol/frontend.js';
import { psqlOk, runPsql } from '../helpers/clients.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import { cliArgs, type PgtunnelProcess, startPgtunnel } from '../helpers/pgtunnel-process.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { openRaw, openTlsSession } from '../helpers/raw-client.js';
import { run } from '../helpers/run.js';
import {
  allWorkersServe,
  fetchStatus,
  type WorkerStatus,
  waitForStatus,
} from '../helpers/worker-status.js';

const WORKERS = 2;
/** Which cluster, over which leg (the default route reaches A by its socket, route a by TCP), which database. */
const WHERE =
  "SELECT current_setting('cluster_name') || ':' || coalesce(host(inet_server_addr()), 'socket') || ':' || current_database()";

interface Served {
  cn: string;
  serial: string;
}

/** The certificate the gateway serves to a client sending `serverName` (none: no SNI). */
async function servedCertificate(
  port: number,
  serverName: string | undefined,
  mode: 'sslrequest' | 'direct' = 'sslrequest',
): Promise<Served> {
  const options = {
    rejectUnauthorized: false,
    ...(serverName ? { servername: serverName } : {}),
  };
  let socket: ReturnType<typeof tlsConnect>;
  if (mode === 'direct') {
    socket = tlsConnect({ host: '127.0.0.1', port, ALPNProtocols: ['postgresql'], ...options });
  } else {
    const raw = await openRaw(port);
    raw.write(encodeSslRequest());
    const answer = await new Promise<Buffer>((resolve) => raw.once('data', resolve));
    assert.equal(answer.toString(), 'S');
    socket = tlsConnect({ socket: raw, ...options });
  }
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  const certificate = socket.getPeerCertificate();
  socket.destroy();
  return { cn: String(certificate.subject.CN), serial: certificate.serialNumber };
}

/** The SQLSTATE and message a node-postgres client gets, connecting with `serverName`. */
async function refusal(
  port: number,
  options: { serverName?: string; database: string; user?: string },
): Promise<{ code: string; message: string }> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user: options.user ?? 'postgres',
    database: options.database,
    ssl: {
      rejectUnauthorized: false,
      ...(options.serverName ? { servername: options.serverName } : {}),
    },
  });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    const e = error as { code?: string; message: string };
    return { code: e.code ?? '', message: e.message };
  } finally {
    await client.end().catch(() => {});
  }
  throw new Error('the connection was not refused');
}

/** Waits until a backend of `cluster` runs `query`. */
async function waitForBackend(cluster: Cluster, query: string): Promise<void> {
  const sql = `SELECT count(*) FROM pg_stat_activity WHERE query = '${query.replaceAll("'", "''")}' AND state = 'active'`;
  while ((await cluster.sql(sql)).trim() !== '1')
    await new Promise((resolve) => setImmediate(resolve));
}

describe('serve: routes to two clusters through one port', () => {
  let pki: TestPki;
  let a: Cluster;
  let b: Cluster;
  let dir: string;
  let port: number;
  let adminPort: number;
  let gateway: PgtunnelProcess;
  let configFile: string;
  let routesFile: string;
  const certs: Record<string, { cert: string; key: string }> = {};
  let client: { cert: string; key: string };
  let revokedClient: { cert: string; key: string };

  const routes = (extra = '') =>
    [
      '# one [section] per route',
      '[a]',
      "server_name = 'db-a.test'",
      "ssl_cert_file = 'a.crt'",
      "ssl_key_file = 'a.key'",
      "hba_file = 'a.hba'",
      `upstream = 'host=127.0.0.1 port=${a.port} sslmode=disable'`,
      '',
      '[b]',
      "server_name = 'db-b.test'",
      "database = 'appb'",
      "ssl_cert_file = 'b.crt'",
      "ssl_key_file = 'b.key'",
      "hba_file = 'b.hba'",
      `upstream = 'host=${b.socketDir} port=${b.port} sslmode=disable'`,
      '',
      '[cert]',
      "server_name = 'db-cert.test'",
      'database = certdb',
      "ssl_cert_file = 'cert.crt'",
      "ssl_key_file = 'cert.key'",
      `ssl_ca_file = '${pki.caBundle}'`,
      `ssl_crl_file = '${pki.crlBundle}'`,
      "hba_file = 'cert.hba'",
      extra,
    ].join('\n');
  const mainConfig = (extra = '') =>
    [
      "listen_addresses = '127.0.0.1'",
      `port = ${port}`,
      `workers = ${WORKERS}`,
      `admin_listen = '127.0.0.1:${adminPort}'`,
      `ssl_cert_file = '${pki.serverCert}'`,
      `ssl_key_file = '${pki.serverKey}'`,
      "hba_file = 'main.hba'",
      `upstream = 'host=${a.socketDir} port=${a.port} sslmode=disable'`,
      "routes_file = 'routes.conf'",
      'log_connections = on',
      "admin_users = 'postgres'",
      `unix_socket_directories = '${dir}'`,
      extra,
    ].join('\n');
  const conninfo = (host: string, extra = '') =>
    `host=${host} hostaddr=127.0.0.1 port=${port} user=postgres dbname=postgres sslmode=verify-full sslrootcert=${pki.caBundle} ${extra}`.trim();
  const where = async (info: string, libpq: 'system' | '18' = 'system') =>
    psqlOk({ conninfo: info, sql: WHERE, libpq });

  before(async () => {
    pki = await createTestPki();
    [a, b] = await Promise.all([
      startCluster({ settings: { cluster_name: 'cluster_a' } }),
      startCluster({ settings: { cluster_name: 'cluster_b' } }),
    ]);
    for (const [cluster, database] of [
      [a, 'appa'],
      [b, 'appb'],
    ] as const) {
      await cluster.sql(`CREATE DATABASE ${database}`);
      await cluster.sql('CREATE ROLE bob LOGIN');
    }
    for (const name of ['a', 'b', 'a2', 'c']) {
      const host = `db-${name.slice(0, 1)}.test`;
      certs[name] = await pki.otherServer({ cn: host, sans: [`DNS:${host}`] });
    }
    certs.cert = await pki.otherServer({ cn: 'db-cert.test', sans: ['DNS:db-cert.test'] });
    client = await pki.client('postgres');
    revokedClient = await pki.client('postgres');
    await pki.revoke(revokedClient.cert);
    await a.sql('CREATE DATABASE certdb');
    dir = mkdtempSync(join(tmpdir(), 'pgtunnel-routes-'));
    for (const name of ['a', 'b', 'c', 'cert']) {
      copyFileSync(certs[name]?.cert ?? '', join(dir, `${name}.crt`));
      copyFileSync(certs[name]?.key ?? '', join(dir, `${name}.key`));
    }
    // The main rules admit everyone; route a admits only postgres; route b admits everyone.
    writeFileSync(
      join(dir, 'main.hba'),
      'hostssl all all 127.0.0.1/32 trust\nlocal all all trust\n',
    );
    writeFileSync(join(dir, 'a.hba'), 'hostssl all postgres 127.0.0.1/32 trust\n');
    writeFileSync(join(dir, 'b.hba'), 'hostssl all all 127.0.0.1/32 trust\nlocal all all trust\n');
    // Route cert admits only client certificates of its own CA, checked against its own CRL.
    writeFileSync(join(dir, 'cert.hba'), 'hostssl all all 127.0.0.1/32 cert\n');
    port = await freePort();
    adminPort = await freePort();
    configFile = join(dir, 'pgtunnel.conf');
    routesFile = join(dir, 'routes.conf');
    writeFileSync(configFile, mainConfig());
    writeFileSync(routesFile, routes());
    gateway = await startPgtunnel(['serve', '--config', configFile]);
    await waitForStatus(adminPort, allWorkersServe(WORKERS));
  });
  after(async () => {
    await gateway?.stop('SIGINT');
    await Promise.all([a?.stop(), b?.stop()]);
    await pki?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves db-a.test with certificate A from cluster A, db-b.test with certificate B from cluster B', async () => {
    // verify-full on the route's name passes only with that route's certificate.
    assert.equal(await where(conninfo('db-a.test')), 'cluster_a:127.0.0.1:postgres');
    assert.equal(await where(conninfo('db-b.test', 'dbname=appb')), 'cluster_b:socket:appb');
    // The main configuration still answers to the main certificate's name.
    assert.equal(await where(conninfo('localhost')), 'cluster_a:socket:postgres');
    // `pgtunnel probe` checks a route's certificate as a probe would (docs/kubernetes.md).
    const probe = (name: string) =>
      run(
        process.execPath,
        cliArgs([
          'probe',
          `127.0.0.1:${port}`,
          '--servername',
          name,
          '--sslmode',
          'verify-full',
          '--sslrootcert',
          pki.caBundle,
        ]),
        { timeoutMs: 60_000 },
      );
    assert.equal((await probe('db-b.test')).code, 0);
    assert.equal((await probe('localhost')).code, 0);
    for (let i = 0; i < WORKERS; i++) {
      assert.equal((await servedCertificate(port, 'db-a.test')).cn, 'db-a.test');
      assert.equal((await servedCertificate(port, 'DB-B.test.')).cn, 'db-b.test');
      assert.equal((await servedCertificate(port, undefined)).cn, 'localhost');
    }
  });

  it('resumes TLS sessions within a route on every worker, never on another route', async () => {
    const ticketFor = async (servername: string) => {
      const socket = await openTlsSession(port, pki.caBundle, { servername });
      const ticket = await new Promise<Buffer>((resolve) => socket.once('session', resolve));
      socket.destroy();
      return ticket;
    };
    const resumes = async (servername: string, session: Buffer) => {
      const socket = await openTlsSession(port, pki.caBundle, { servername, session });
      const reused = socket.isSessionReused();
      socket.destroy();
      return reused;
    };
    const ticketA = await ticketFor('db-a.test');
    const ticketMain = await ticketFor('localhost');
    for (let i = 0; i < 2 * WORKERS; i++) {
      assert.equal(await resumes('db-a.test', ticketA), true, 'route a resumes its own session');
      assert.equal(await resumes('localhost', ticketMain), true, 'the main route resumes its own');
      assert.equal(await resumes('db-b.test', ticketA), false, "route b resumed route a's session");
      assert.equal(
        await resumes('db-b.test', ticketMain),
        false,
        "route b resumed the main route's",
      );
      assert.equal(await resumes('localhost', ticketA), false, "the main route resumed route a's");
    }
  });

  it("applies each route's own hba rules", async () => {
    assert.equal(
      await psqlOk({
        conninfo: conninfo('db-b.test', 'user=bob dbname=appb'),
        sql: 'SELECT current_user',
      }),
      'bob',
    );
    assert.equal(
      await psqlOk({ conninfo: conninfo('localhost', 'user=bob'), sql: 'SELECT current_user' }),
      'bob',
    );
    const refused = await runPsql({ conninfo: conninfo('db-a.test', 'user=bob') });
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr,
      /FATAL: {2}no pg_hba\.conf entry for host "127\.0\.0\.1", user "bob", database "postgres", SSL encryption/,
    );
    const viaNode = await refusal(port, {
      serverName: 'db-a.test',
      database: 'postgres',
      user: 'bob',
    });
    assert.equal(viaNode.code, '28000');
  });

  it("checks client certificates with a route's own CA and CRL", async () => {
    const withCertificate = (pair: { cert: string; key: string }) =>
      conninfo('db-cert.test', `dbname=certdb sslcert=${pair.cert} sslkey=${pair.key}`);
    assert.equal(
      await psqlOk({ conninfo: withCertificate(client), sql: 'SELECT current_user' }),
      'postgres',
    );
    const revoked = await runPsql({ conninfo: withCertificate(revokedClient) });
    assert.notEqual(revoked.code, 0);
    assert.match(revoked.stderr, /FATAL: {2}connection requires a valid client certificate/);
    assert.match(revoked.stderr, /DETAIL: {2}The client certificate has been revoked/);
    const without = await runPsql({ conninfo: conninfo('db-cert.test', 'dbname=certdb') });
    assert.notEqual(without.code, 0);
    assert.match(without.stderr, /FATAL: {2}connection requires a valid client certificate/);
    // Reached by its database without its server name, the handshake was the main one (which
    // asks for no certificate): the route's cert rule still stands.
    const noServerName = await runPsql({
      conninfo: `hostaddr=127.0.0.1 port=${port} user=postgres dbname=certdb sslmode=require sslcert=${client.cert} sslkey=${client.key}`,
    });
    assert.notEqual(noServerName.code, 0);
    assert.match(noServerName.stderr, /FATAL: {2}connection requires a valid client certificate/);
  });

  it('routes a client without a server name by its database', async () => {
    // libpq sends no server name when only hostaddr is given.
    const noName = (database: string) =>
      `hostaddr=127.0.0.1 port=${port} user=postgres dbname=${database} sslmode=require`;
    assert.equal(await where(noName('appb')), 'cluster_b:socket:appb');
    assert.equal(await where(noName('postgres')), 'cluster_a:socket:postgres');
    // Without TLS (the gateway's unix socket) the database routes alike.
    const overSocket = (database: string) =>
      `host=${dir} port=${port} user=postgres dbname=${database}`;
    assert.equal(await where(overSocket('appb')), 'cluster_b:socket:appb');
    assert.equal(await where(overSocket('postgres')), 'cluster_a:socket:postgres');
    // An unknown server name gets the main configuration, its database routing included.
    const unknown = (database: string) =>
      `host=unknown.test hostaddr=127.0.0.1 port=${port} user=postgres dbname=${database} sslmode=require`;
    assert.equal(await where(unknown('postgres')), 'cluster_a:socket:postgres');
    assert.equal(await where(unknown('appb')), 'cluster_b:socket:appb');
    assert.equal((await servedCertificate(port, 'unknown.test')).cn, 'localhost');
  });

  it('chooses the route from the server name with direct TLS (libpq 18, sslnegotiation=direct)', async () => {
    assert.equal(
      await where(conninfo('db-b.test', 'dbname=appb sslnegotiation=direct'), '18'),
      'cluster_b:socket:appb',
    );
    assert.equal(
      await where(conninfo('db-a.test', 'sslnegotiation=direct'), '18'),
      'cluster_a:127.0.0.1:postgres',
    );
    assert.equal((await servedCertificate(port, 'db-b.test', 'direct')).cn, 'db-b.test');
  });

  it('refuses a database of another route, or one the route does not serve, as PostgreSQL would', async () => {
    const conflict = await runPsql({ conninfo: conninfo('db-a.test', 'dbname=appb') });
    assert.notEqual(conflict.code, 0);
    assert.match(
      conflict.stderr,
      /FATAL: {2}database "appb" is served by route "b", not by server name "db-a\.test"/,
    );
    assert.equal(
      (await refusal(port, { serverName: 'db-a.test', database: 'appb' })).code,
      '08004',
    );
    const unknownDatabase = await refusal(port, { serverName: 'db-b.test', database: 'appa' });
    assert.deepEqual(unknownDatabase, { code: '3D000', message: 'no such database: appa' });
  });

  it('shows the route in /status, the metrics and the log', async () => {
    const client = new pg.Client({
      host: '127.0.0.1',
      port,
      user: 'postgres',
      database: 'appb',
      application_name: 'route-status',
      ssl: { rejectUnauthorized: false, servername: 'db-b.test' },
    });
    await client.connect();
    try {
      const status = (await fetchStatus(adminPort)) as WorkerStatus & {
        sessions: Array<{ application_name: string | null; route: string | null }>;
        routes: Array<{ name: string; server_name: string[]; database: string[] }>;
      };
      const session = status.sessions.find((s) => s.application_name === 'route-status');
      assert.equal(session?.route, 'b');
      assert.deepEqual(
        status.routes.map((r) => [r.name, r.server_name, r.database]),
        [
          ['a', ['db-a.test'], []],
          ['b', ['db-b.test'], ['appb']],
          ['cert', ['db-cert.test'], ['certdb']],
        ],
      );
    } finally {
      await client.end();
    }
    // The admin console is served on every route; SHOW SESSIONS has the route column.
    const table = (
      await psqlOk({
        conninfo: conninfo('db-b.test', 'dbname=pgtunnel'),
        args: ['-X', '-A', '-F', '|', '-P', 'footer=off', '-c', 'SHOW SESSIONS'],
      })
    ).split('\n');
    const header = table[0]?.split('|') ?? [];
    const own = table
      .slice(1)
      .find((line) => line.split('|')[header.indexOf('database')] === 'pgtunnel');
    assert.equal(own?.split('|')[header.indexOf('route')], 'b', table.join('\n'));
    const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    const accepted = (route: string) =>
      Number(
        new RegExp(
          `^pgtunnel_route_connections_accepted_total\\{route="${route}"\\} (\\d+)`,
          'm',
        ).exec(metrics)?.[1] ?? 0,
      );
    assert.ok(accepted('a') >= 1, metrics);
    assert.ok(accepted('b') >= 1, metrics);
    assert.ok(accepted('default') >= 1, metrics);
    const authorized = gateway
      .logs()
      .filter((record) => record.msg === 'connection authorized' && record.database === 'appb');
    assert.ok(authorized.length > 0 && authorized.every((record) => record.route === 'b'));
  });

  it("passes a cancel request (which names no route) to the route's cluster", async () => {
    const client = new pg.Client({
      host: '127.0.0.1',
      port,
      user: 'postgres',
      database: 'appb',
      ssl: { rejectUnauthorized: false, servername: 'db-b.test' },
    });
    await client.connect();
    try {
      const keys = client as unknown as { processID: number; secretKey: number };
      const running = client.query('SELECT pg_sleep(600)').then(
        () => undefined,
        (error: { code?: string }) => error.code,
      );
      await waitForBackend(b, 'SELECT pg_sleep(600)');
      const secret = Buffer.alloc(4);
      secret.writeInt32BE(keys.secretKey);
      const raw = await openRaw(port);
      raw.end(encodeCancelRequest(keys.processID, secret));
      assert.equal(await running, '57014');
    } finally {
      await client.end();
    }
  });

  it('counts a client that resets the connection in the middle of its ClientHello as a failed handshake', async () => {
    const failures = async () => {
      const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
      return Number(
        /^pgtunnel_tls_handshake_failures_total\{reason="client_closed"\} (\d+)/m.exec(text)?.[1],
      );
    };
    const before = await failures();
    const raw = await openRaw(port);
    raw.write(encodeSslRequest());
    await new Promise((resolve) => raw.once('data', resolve));
    // A record header announcing 512 bytes of handshake, then a reset.
    raw.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
    raw.resetAndDestroy();
    while ((await failures()) === before) await new Promise((resolve) => setImmediate(resolve));
  });

  it('applies a reload that adds and changes routes on every worker, and keeps them when the routes file is broken', async () => {
    const before = await fetchStatus(adminPort);
    // Route a gets a new certificate, route c appears, unknown server names are refused.
    copyFileSync(certs.a2?.cert ?? '', join(dir, 'a.crt'));
    copyFileSync(certs.a2?.key ?? '', join(dir, 'a.key'));
    writeFileSync(
      routesFile,
      routes(
        [
          '[c]',
          "server_name = 'db-c.test'",
          "ssl_cert_file = 'c.crt'",
          "ssl_key_file = 'c.key'",
          `upstream = 'host=${b.socketDir} port=${b.port} sslmode=disable'`,
        ].join('\n'),
      ),
    );
    writeFileSync(configFile, mainConfig("routes_unknown_server_name = 'refuse'"));
    gateway.child.kill('SIGHUP');
    const reloaded = await waitForStatus(
      adminPort,
      (s) => s.generation === before.generation + 1 && allWorkersServe(WORKERS)(s),
    );
    assert.equal(reloaded.last_reload?.ok, true);
    const newSerial = (await servedCertificate(port, 'db-a.test')).serial;
    for (let i = 0; i < 2 * WORKERS; i++) {
      assert.equal((await servedCertificate(port, 'db-a.test')).serial, newSerial);
      assert.equal((await servedCertificate(port, 'db-c.test')).cn, 'db-c.test');
    }
    assert.notEqual(newSerial, '');
    assert.equal(await where(conninfo('db-c.test')), 'cluster_b:socket:postgres');
    assert.equal(await where(conninfo('db-a.test')), 'cluster_a:127.0.0.1:postgres');
    const unknown = await runPsql({
      conninfo: `host=unknown.test hostaddr=127.0.0.1 port=${port} user=postgres dbname=postgres sslmode=require`,
    });
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /FATAL: {2}no route for server name "unknown\.test"/);
    assert.equal(
      (await refusal(port, { serverName: 'unknown.test', database: 'postgres' })).code,
      '08004',
    );
    // The main certificate's own name is not unknown.
    assert.equal(await where(conninfo('localhost')), 'cluster_a:socket:postgres');

    // A server name in two routes: the reload fails and every worker keeps the routes above.
    writeFileSync(routesFile, routes("[c]\nserver_name = 'DB-A.test'\n"));
    gateway.child.kill('SIGHUP');
    const failed = await waitForStatus(
      adminPort,
      (s) => s.last_reload?.at !== reloaded.last_reload?.at && s.last_reload?.ok === false,
    );
    assert.equal(failed.generation, reloaded.generation);
    assert.match(
      failed.last_reload?.error ?? '',
      new RegExp(`${routesFile}:\\d+: server_name "db-a\\.test" is in route \\[a\\]`),
    );
    assert.ok(allWorkersServe(WORKERS)(failed));
    for (let i = 0; i < 2 * WORKERS; i++) {
      assert.equal((await servedCertificate(port, 'db-a.test')).serial, newSerial);
      assert.equal((await servedCertificate(port, 'db-c.test')).cn, 'db-c.test');
    }
    assert.equal(await where(conninfo('db-c.test')), 'cluster_b:socket:postgres');
  });

  it('refuses to start on a broken routes file, and --check reports the routes', async () => {
    const broken = join(dir, 'broken-routes.conf');
    writeFileSync(broken, "[a]\nserver_name = 'db-a.test'\nport = 5\n");
    const brokenConf = join(dir, 'broken.conf');
    writeFileSync(
      brokenConf,
      mainConfig().replace("routes_file = 'routes.conf'", "routes_file = 'broken-routes.conf'"),
    );
    const refused = await run(process.execPath, cliArgs(['serve', '--config', brokenConf]), {
      timeoutMs: 60_000,
    });
    assert.equal(refused.code, 3);
    assert.match(
      refused.stderr,
      new RegExp(
        `${broken}:3: "port" cannot be set per route: set it in the main configuration file`,
      ),
    );
    writeFileSync(routesFile, routes());
    const checked = await run(
      process.execPath,
      cliArgs(['serve', '--config', configFile, '--check']),
      {
        timeoutMs: 60_000,
      },
    );
    assert.equal(checked.code, 0, checked.stderr);
    assert.match(checked.stdout, new RegExp(`checked: routes file ${routesFile} \\(3 routes\\)`));
    assert.match(
      checked.stdout,
      /checked: route \[b\] \(.*routes\.conf:9\) for server_name db-b\.test and database appb, with its certificate .*b\.crt and key .*b\.key, rules .*b\.hba/,
    );
    assert.match(
      checked.stdout,
      /checked: route \[a\] upstream 127\.0\.0\.1:\d+ \(plaintext\) answered as PostgreSQL/,
    );
    assert.match(checked.stdout, /configuration OK/);
  });
});
