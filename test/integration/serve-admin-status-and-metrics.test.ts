// The admin endpoint of `pgtunnel serve`: /status lists open sessions with what pg_stat_ssl and
// pg_stat_activity would show, /metrics counters move with real traffic, /health follows
// listening → stopping, the endpoint is read-only and loopback-only unless told otherwise,
// and with two workers both show the whole process group.
import assert from 'node:assert/strict';
import { chmodSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { encodeSslRequest, encodeStartupMessage } from '../../src/protocol/frontend.js';
import { psqlOk, runPsql } from '../helpers/clients.js';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';
import { cliArgs } from '../helpers/pgtunnel-process.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { collect, errorFields, openRaw } from '../helpers/raw-client.js';
import { run } from '../helpers/run.js';

interface StatusSession {
  id: number;
  pid: number;
  client_addr: string;
  client_port: number | null;
  user: string | null;
  database: string | null;
  application_name: string | null;
  state: string;
  backend_start: string;
  ssl: boolean;
  version: string | null;
  cipher: string | null;
  bits: number | null;
  client_cert_verified: boolean | null;
  client_dn: string | null;
  client_serial: string | null;
  issuer_dn: string | null;
  upstream: string | null;
  backend_pid: number | null;
}

interface Status {
  state: string;
  started_at: string;
  pid: number;
  workers: number;
  listen_addresses: string[];
  last_reload: { at: string; ok: boolean; error?: string } | null;
  sessions: StatusSession[];
  worker_processes?: Array<{ pid: number; sessions: number | null; error?: string }>;
}

/** `name{labels} value` lines of a Prometheus exposition, keyed by `name{labels}`. */
function parseMetrics(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}

/** Probes until `probe` answers; no deadline (the runner's per-file limit catches a hang). */
async function waitFor<T>(probe: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('serve: admin endpoint (/status, /metrics, /health)', () => {
  let pki: TestPki;
  let env: GatewayEnv;
  let adminPort: number;
  let alice: { cert: string; key: string };
  const open: pg.Client[] = [];

  const admin = (path: string, init?: RequestInit) =>
    fetch(`http://127.0.0.1:${adminPort}${path}`, init);
  const status = async () => (await (await admin('/status')).json()) as Status;
  const metrics = async () => parseMetrics(await (await admin('/metrics')).text());
  const metric = (all: Map<string, number>, key: string): number => {
    const value = all.get(key);
    assert.ok(value !== undefined, `metric ${key} is missing from /metrics`);
    return value;
  };

  /** A node-postgres session through the gateway, left open; with `certificate`, TLS client auth. */
  async function session(
    applicationName: string,
    certificate?: { cert: string; key: string },
  ): Promise<{ client: pg.Client; backendPid: number }> {
    const client = new pg.Client({
      host: 'localhost',
      port: env.port,
      user: 'postgres',
      database: 'postgres',
      application_name: applicationName,
      ssl: {
        ca: readFileSync(pki.caBundle),
        servername: 'localhost',
        ...(certificate
          ? { cert: readFileSync(certificate.cert), key: readFileSync(certificate.key) }
          : {}),
      },
    });
    client.on('error', () => {});
    await client.connect();
    open.push(client);
    const result = await client.query('SELECT pg_backend_pid() AS pid');
    return { client, backendPid: Number(result.rows[0].pid) };
  }

  async function closeSessions(): Promise<void> {
    await Promise.all(open.splice(0).map((client) => client.end().catch(() => {})));
  }

  before(async () => {
    pki = await createTestPki();
    alice = await pki.client('alice');
    adminPort = await freePort();
    env = await startGatewayEnv({
      pki,
      serveArgs: ['--ssl-ca-file', pki.caBundle, '--admin-listen', `127.0.0.1:${adminPort}`],
    });
  });
  after(async () => {
    await closeSessions();
    await env?.close();
    await pki?.cleanup();
  });

  it('lists open sessions with TLS version, cipher and client certificate facts', async () => {
    const withCert = await session('with-cert', alice);
    const withoutCert = await session('without-cert');
    const doc = await status();
    assert.equal(doc.state, 'listening');
    assert.equal(doc.workers, 1);
    assert.deepEqual(doc.listen_addresses, [`127.0.0.1:${env.port}`]);
    assert.equal(doc.last_reload, null);
    assert.ok(Date.parse(doc.started_at) <= Date.now());

    const byApp = new Map(doc.sessions.map((s) => [s.application_name, s]));
    const a = byApp.get('with-cert');
    const b = byApp.get('without-cert');
    assert.ok(a && b, `sessions listed: ${JSON.stringify(doc.sessions)}`);
    for (const [s, backendPid] of [
      [a, withCert.backendPid],
      [b, withoutCert.backendPid],
    ] as const) {
      assert.equal(s.state, 'active');
      assert.equal(s.user, 'postgres');
      assert.equal(s.database, 'postgres');
      assert.equal(s.client_addr, '127.0.0.1');
      assert.ok(typeof s.client_port === 'number' && s.client_port > 0);
      assert.equal(s.ssl, true);
      assert.equal(s.version, 'TLSv1.3');
      assert.match(
        s.cipher ?? '',
        /^TLS_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)$/,
      );
      assert.ok(s.bits === 128 || s.bits === 256);
      assert.equal(s.backend_pid, backendPid, 'backend_pid is what pg_backend_pid() says');
      assert.match(s.upstream ?? '', /\.s\.PGSQL\.\d+ \(plaintext\)$/);
      assert.equal(s.pid, doc.pid);
    }
    assert.equal(a.client_dn, 'CN=alice');
    assert.equal(a.client_cert_verified, true);
    assert.match(a.client_serial ?? '', /^\d+$/);
    assert.match(a.issuer_dn ?? '', /CN=pgtunnel Test Intermediate CA/);
    assert.equal(b.client_dn, null);
    assert.equal(b.client_cert_verified, null);
    // The same serial PostgreSQL's own view of the certificate would show.
    const serialHex = (
      await run('openssl', ['x509', '-noout', '-serial', '-in', alice.cert])
    ).stdout
      .trim()
      .replace(/^serial=/, '');
    assert.equal(a.client_serial, BigInt(`0x${serialHex}`).toString(10));

    const text = JSON.stringify(doc);
    assert.doesNotMatch(text, /PRIVATE KEY|BEGIN|password/i, 'no key material in /status');
    await closeSessions();
    await waitFor(async () => ((await status()).sessions.length === 0 ? true : undefined));
  });

  it('counts accepted and refused connections, handshake failures and bytes', async () => {
    const before = await metrics();
    assert.equal(metric(before, 'pgtunnel_sessions_active'), 0);

    // Refused: plaintext TCP is not allowed by the built-in rules.
    const refused = await runPsql({ conninfo: `${env.conninfo()} sslmode=disable` });
    assert.notEqual(refused.code, 0);
    // A TLS handshake the client aborts: it does not trust our CA.
    const untrusted = await runPsql({
      conninfo: `host=localhost port=${env.port} user=postgres dbname=postgres sslmode=verify-full sslrootcert=${pki.untrustedRootCert}`,
    });
    assert.notEqual(untrusted.code, 0);
    assert.match(untrusted.stderr, /certificate verify failed/);
    // A protocol violation: plaintext pipelined right after SSLRequest.
    const pipelined = await openRaw(env.port);
    const answer = collect(pipelined);
    pipelined.write(
      Buffer.concat([encodeSslRequest(), encodeStartupMessage([['user', 'postgres']])]),
    );
    assert.equal(errorFields((await answer).bytes)?.get('C'), '08P01');
    // A finished session that moved 100 kB to the client.
    assert.equal(
      await psqlOk({ conninfo: env.conninfo(), sql: "SELECT length(repeat('x', 100000))" }),
      '100000',
    );
    await psqlOk({ conninfo: env.conninfo(), sql: "SELECT repeat('x', 100000)" });

    const after = await waitFor(async () => {
      const now = await metrics();
      const ended =
        metric(now, 'pgtunnel_client_bytes_sent_total') -
        metric(before, 'pgtunnel_client_bytes_sent_total');
      return ended >= 100_000 && metric(now, 'pgtunnel_sessions_active') === 0 ? now : undefined;
    });
    const delta = (key: string) => metric(after, key) - metric(before, key);
    assert.equal(delta('pgtunnel_connections_refused_total{reason="access_rule"}'), 1);
    assert.equal(delta('pgtunnel_connections_refused_total{reason="too_many_connections"}'), 0);
    assert.equal(delta('pgtunnel_connections_refused_total{reason="protocol_violation"}'), 1);
    assert.equal(delta('pgtunnel_tls_handshake_failures_total{reason="unknown_ca"}'), 1);
    assert.equal(delta('pgtunnel_connections_accepted_total{tls="true"}'), 2);
    assert.equal(delta('pgtunnel_connections_accepted_total{tls="false"}'), 0);
    assert.ok(delta('pgtunnel_client_bytes_sent_total') < 120_000);
    const received = delta('pgtunnel_client_bytes_received_total');
    assert.ok(received > 100 && received < 10_000, `bytes from clients: ${received}`);

    // While a session is open the gauge shows it.
    await session('gauge');
    assert.equal(metric(await metrics(), 'pgtunnel_sessions_active'), 1);
    await closeSessions();
  });

  it('is read-only: GET and HEAD only, 404 elsewhere, /health says ok', async () => {
    const health = await admin('/health');
    assert.equal(health.status, 200);
    assert.equal(await health.text(), 'ok\n');
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const response = await admin('/status', { method });
      assert.equal(response.status, 405, method);
      assert.equal(response.headers.get('allow'), 'GET, HEAD');
      await response.text();
    }
    const missing = await admin('/nothing');
    assert.equal(missing.status, 404);
    await missing.text();
    const metricsResponse = await admin('/metrics');
    assert.match(
      metricsResponse.headers.get('content-type') ?? '',
      /^text\/plain; version=0\.0\.4/,
    );
    await metricsResponse.text();
  });

  it('reports reloads, failed and successful, with their time', async () => {
    // A key readable by others fails the reload (as PostgreSQL refuses it); the old one serves on.
    chmodSync(pki.serverKey, 0o644);
    try {
      env.gateway.child.kill('SIGHUP');
      await env.gateway.waitForLog('reload failed');
    } finally {
      chmodSync(pki.serverKey, 0o600);
    }
    let doc = await waitFor(async () => {
      const d = await status();
      return d.last_reload ? d : undefined;
    });
    assert.equal(doc.last_reload?.ok, false);
    assert.match(doc.last_reload?.error ?? '', /group or world access/);
    // The failed reload is the one just asked for: it comes after the gateway started.
    assert.ok(Date.parse(doc.last_reload?.at ?? '') >= Date.parse(doc.started_at));
    let all = await metrics();
    assert.equal(metric(all, 'pgtunnel_reloads_total{result="failure"}'), 1);
    assert.equal(metric(all, 'pgtunnel_config_last_reload_successful'), 0);
    const loadedAt = metric(all, 'pgtunnel_config_last_reload_success_timestamp_seconds');

    env.gateway.child.kill('SIGHUP');
    doc = await waitFor(async () => {
      const d = await status();
      return d.last_reload?.ok ? d : undefined;
    });
    assert.equal(doc.state, 'listening');
    all = await metrics();
    assert.equal(metric(all, 'pgtunnel_reloads_total{result="success"}'), 1);
    assert.equal(metric(all, 'pgtunnel_config_last_reload_successful'), 1);
    assert.ok(metric(all, 'pgtunnel_config_last_reload_success_timestamp_seconds') > loadedAt);
  });

  it('says stopping (503) while a smart shutdown waits for sessions', async () => {
    const { client } = await session('draining');
    env.gateway.child.kill('SIGTERM');
    await env.gateway.waitForLog('waiting for sessions to finish');
    const health = await admin('/health');
    assert.equal(health.status, 503);
    assert.equal(await health.text(), 'stopping\n');
    const doc = await status();
    assert.equal(doc.state, 'stopping');
    assert.equal(doc.sessions.length, 1);
    await client.end();
    open.splice(0);
    assert.equal((await env.gateway.exited).code, 0);
    await assert.rejects(admin('/health'), 'the endpoint closes with the server');
  });

  it('with two workers, shows and counts the sessions of both', async () => {
    await env.restart(['--workers', '2']);
    // Workers accept from the shared socket as each is free, not in turn: hold sessions until
    // both workers serve some (a worker that never accepts would not).
    const opened = [];
    let doc = await status();
    for (let i = 0; i < 40 && (i < 4 || new Set(doc.sessions.map((s) => s.pid)).size < 2); i++) {
      opened.push(await session(`worker-app-${i}`, alice));
      doc = await status();
    }
    assert.equal(doc.workers, 2);
    assert.equal(doc.pid, env.gateway.child.pid);
    const workerPids = new Set((doc.worker_processes ?? []).map((w) => w.pid));
    assert.equal(workerPids.size, 2, JSON.stringify(doc.worker_processes));
    assert.ok(!workerPids.has(doc.pid), 'the primary serves no sessions');
    assert.equal(doc.sessions.length, opened.length);
    const servedBy = new Set(doc.sessions.map((s) => s.pid));
    assert.deepEqual([...servedBy].sort(), [...workerPids].sort(), 'sessions from both workers');
    for (const { backendPid } of opened) {
      const s = doc.sessions.find((x) => x.backend_pid === backendPid);
      assert.ok(s, `backend ${backendPid} is listed`);
      assert.equal(s.client_dn, 'CN=alice');
      assert.equal(s.version, 'TLSv1.3');
    }

    const exposition = await (await admin('/metrics')).text();
    // Aggregated: each metric appears once, not once per worker.
    const types = exposition.split('\n').filter((line) => line.startsWith('# TYPE '));
    assert.equal(new Set(types).size, types.length, `duplicated families:\n${exposition}`);
    const all = parseMetrics(exposition);
    assert.equal(metric(all, 'pgtunnel_sessions_active'), opened.length);
    assert.equal(metric(all, 'pgtunnel_connections_accepted_total{tls="true"}'), opened.length);
    assert.equal(metric(all, 'pgtunnel_reloads_total{result="success"}'), 0);
    await closeSessions();
    // A fast shutdown of the primary ends once its workers have: it used to wait for ever for
    // its listeners, closed a second time after their 'close' event had passed.
    env.gateway.child.kill('SIGINT');
    assert.equal((await env.gateway.exited).code, 0);
  });
});

describe('serve: admin_listen is loopback-only unless admin_listen_unsafe', () => {
  let pki: TestPki;
  before(async () => {
    pki = await createTestPki();
  });
  after(async () => {
    await pki?.cleanup();
  });
  const serve = (args: string[]) =>
    run(
      process.execPath,
      cliArgs([
        'serve',
        '--ssl-cert-file',
        pki.serverCert,
        '--ssl-key-file',
        pki.serverKey,
        '--upstream',
        'host=127.0.0.1 port=1',
        '--listen-addresses',
        '127.0.0.1',
        ...args,
      ]),
      {},
    );

  it('refuses a non-loopback address at start with exit code 3, before listening', async () => {
    const port = await freePort();
    const result = await serve(['--port', String(port), '--admin-listen', '0.0.0.0:9187']);
    assert.equal(result.code, 3, result.stderr);
    assert.match(
      result.stderr,
      /--admin-listen: admin_listen = '0\.0\.0\.0:9187' is not a loopback address.*admin_listen_unsafe = on/,
    );
    assert.doesNotMatch(result.stderr, /ready to accept connections/);
  });

  it('accepts it with admin_listen_unsafe = on', async () => {
    // --check validates the same way without binding a non-loopback address in a test.
    const result = await serve([
      '--check',
      '--skip-upstream',
      '--admin-listen',
      '0.0.0.0:9187',
      '--admin-listen-unsafe',
      'on',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /configuration OK/);
    const refused = await serve(['--check', '--admin-listen', '[::]:9187']);
    assert.equal(refused.code, 3);
  });
});
