// `pgtunnel check` against things that are not a healthy PostgreSQL server: each gives a clear
// one-line reason and a distinct exit status, never a stack trace.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { findingsOf, runCheck, runCheckJson } from '../helpers/check-cli.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';

const UNREACHABLE = 4;

function listeningPort(server: HttpServer | Server): number {
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function assertNoStack(text: string): void {
  assert.doesNotMatch(text, /\n\s+at .+\(.+:\d+:\d+\)/, `stack trace in:\n${text}`);
}

describe('check: bad targets', () => {
  let http: HttpServer;
  let midHandshake: Server;
  let silent: Server;
  let pki: TestPki;
  let cluster: Cluster;
  before(async () => {
    http = createHttpServer((_req, res) => res.end('hello'));
    http.listen(0, '127.0.0.1');
    // Answers SSLRequest with S, then hangs up as soon as the ClientHello arrives.
    midHandshake = createServer((socket) => {
      socket.once('data', () => {
        socket.write('S');
        socket.once('data', () => socket.destroy());
      });
      socket.on('error', () => {});
    });
    midHandshake.listen(0, '127.0.0.1');
    // Accepts connections and never says a word.
    silent = createServer((socket) => socket.on('error', () => {}));
    silent.listen(0, '127.0.0.1');
    await Promise.all([
      once(http, 'listening'),
      once(midHandshake, 'listening'),
      once(silent, 'listening'),
    ]);
    pki = await createTestPki();
    cluster = await startCluster({
      ssl: { certFile: pki.serverCert, keyFile: pki.serverKey },
      hba: 'local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n',
    });
    await cluster.sql("ALTER ROLE postgres PASSWORD 'right-password'");
    await cluster.sql("CREATE ROLE monitor LOGIN PASSWORD 'monitor-password'");
  });
  after(async () => {
    http?.close();
    midHandshake?.close();
    silent?.close();
    await cluster?.stop();
    await pki?.cleanup();
  });

  it('an unreachable port: libpq-style message, exit 4', async () => {
    const port = await freePort();
    const result = await runCheck([`host=127.0.0.1 port=${port}`]);
    assert.equal(result.code, UNREACHABLE);
    assert.match(
      result.stderr,
      new RegExp(
        `could not check 127\\.0\\.0\\.1:${port}: connection to server at "127\\.0\\.0\\.1", port ${port} failed: Connection refused`,
      ),
    );
    assertNoStack(result.stdout + result.stderr);
  });

  it('a host name that does not resolve: exit 4', async () => {
    const result = await runCheck(['host=no-such-host.invalid port=5432']);
    assert.equal(result.code, UNREACHABLE);
    assert.match(result.stderr, /could not translate host name "no-such-host\.invalid" to address/);
    assertNoStack(result.stdout + result.stderr);
  });

  it('an HTTP server: says it does not answer as PostgreSQL, exit 4', async () => {
    const port = listeningPort(http);
    const result = await runCheck([`host=127.0.0.1 port=${port}`]);
    assert.equal(result.code, UNREACHABLE);
    assert.match(
      result.stderr,
      /could not check 127\.0\.0\.1:\d+: it does not answer as a PostgreSQL server \(SSLRequest: answered "HTTP\/1\.1 400 Bad Request"; direct TLS: /,
    );
    assertNoStack(result.stdout + result.stderr);
  });

  it('a server that never answers: each probe ends at --timeout, exit 4', async () => {
    const port = listeningPort(silent);
    const result = await runCheck(['--timeout', '1', `host=127.0.0.1 port=${port}`]);
    assert.equal(result.code, UNREACHABLE);
    assert.match(
      result.stderr,
      new RegExp(
        `could not check 127\\.0\\.0\\.1:${port}: it does not answer as a PostgreSQL server \\(SSLRequest: the probe of 127\\.0\\.0\\.1:${port} did not finish within 1 s; direct TLS: the TLS handshake did not finish within 1 s\\)`,
      ),
    );
    assertNoStack(result.stdout + result.stderr);
  });

  it('a server that closes mid-handshake: no TLS handshake completes, exit 1', async () => {
    const port = listeningPort(midHandshake);
    // The probes this server leaves without an answer (plaintext, direct TLS) end at --timeout;
    // the handshake itself fails at once, when the server hangs up.
    const { result, findings } = await runCheckJson([
      '--timeout',
      '3',
      `host=127.0.0.1 port=${port}`,
    ]);
    assert.equal(result.code, 1);
    const handshake = findingsOf(findings, 'tls-handshake', 'fail');
    assert.equal(handshake.length, 1);
    assert.match(
      handshake[0]?.details?.join('\n') ?? '',
      /TLSv1\.3: the server (closed|reset) the connection during the TLS handshake/,
    );
    assertNoStack(result.stdout + result.stderr);
  });

  it('a wrong password: the login failure is a finding with its fix, the network checks still run', async () => {
    const { result, findings } = await runCheckJson([
      `host=localhost port=${cluster.port} user=postgres password=wrong sslrootcert=${pki.caBundle}`,
    ]);
    assert.equal(result.code, 1);
    const login = findingsOf(findings, 'login', 'fail');
    assert.equal(login.length, 1);
    assert.equal(
      login[0]?.title,
      'could not log in: password authentication failed for user "postgres"',
    );
    assert.match(login[0]?.fix ?? '', /PGPASSWORD/);
    assert.equal(findingsOf(findings, 'certificate-trust', 'ok').length, 1);
    assertNoStack(result.stdout + result.stderr);
  });

  it('the right password (PGPASSWORD) logs in and reads the settings', async () => {
    const { result, findings } = await runCheckJson(
      [`host=localhost port=${cluster.port} user=postgres sslrootcert=${pki.caBundle}`],
      { PGPASSWORD: 'right-password' },
    );
    assert.equal(
      result.code,
      0,
      JSON.stringify(
        findings.filter((f) => f.severity === 'fail'),
        null,
        1,
      ),
    );
    assert.match(
      findingsOf(findings, 'login', 'info')[0]?.title ?? '',
      /logged in as "postgres" \(superuser\)/,
    );
    assert.equal(findingsOf(findings, 'hba-ok', 'ok').length, 1);
  });

  it('a login without privileges: the parts it cannot read are named, with the privilege needed', async () => {
    const { result, findings } = await runCheckJson(
      [
        `host=localhost port=${cluster.port} user=monitor dbname=postgres sslrootcert=${pki.caBundle}`,
      ],
      { PGPASSWORD: 'monitor-password' },
    );
    assert.equal(
      result.code,
      0,
      JSON.stringify(
        findings.filter((f) => f.severity === 'fail'),
        null,
        1,
      ),
    );
    assert.match(
      findingsOf(findings, 'login', 'info')[0]?.title ?? '',
      /^logged in as "monitor", server 15/,
    );
    const notes = findingsOf(findings, 'not-read', 'info').map((f) => f.title);
    assert.ok(
      notes.some((n) =>
        /^pg_hba_file_rules not read: permission denied .*needs a superuser/.test(n),
      ),
      notes.join('\n'),
    );
    assert.ok(
      notes.some((n) => /^password hashes not read: permission denied .*needs a superuser/.test(n)),
      notes.join('\n'),
    );
    assert.equal(findingsOf(findings, 'hba-ok').length, 0);
    assert.equal(findingsOf(findings, 'setting-ssl', 'ok').length, 1);
  });

  it('several targets: each is reported, and one unreachable makes the status 4', async () => {
    const closed = await freePort();
    const { result, json } = await runCheckJson([
      `host=localhost port=${cluster.port} sslrootcert=${pki.caBundle}`,
      `host=127.0.0.1 port=${closed}`,
    ]);
    assert.equal(result.code, UNREACHABLE);
    assert.equal(json.exitStatus, UNREACHABLE);
    assert.deepEqual(
      json.targets.map((t) => [t.target, t.reachable, t.error ?? '']),
      [
        [`localhost:${cluster.port}`, true, ''],
        [
          `127.0.0.1:${closed}`,
          false,
          `connection to server at "127.0.0.1", port ${closed} failed: Connection refused`,
        ],
      ],
    );
    assert.ok((json.targets[0]?.findings.length ?? 0) > 10);
  });

  it('a bad connection string is a usage error (exit 2)', async () => {
    const result = await runCheck(['host=localhost sslmode=sometimes']);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /invalid target "host=localhost sslmode=sometimes": invalid sslmode value: "sometimes"/,
    );
    assertNoStack(result.stderr);
  });
});
