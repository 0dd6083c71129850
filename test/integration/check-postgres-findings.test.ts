// `pgtunnel check` against real PostgreSQL 15 servers with known problems: each problem is
// reported with its severity, why it matters and the fix, and the exit status follows --fail-on.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { CaStore } from '../../src/ca/ca-store.js';
import {
  assertAgreesWithSslscan,
  type CheckFinding,
  checkEnv,
  findingsOf,
  runCheck,
  runCheckJson,
} from '../helpers/check-cli.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import { cliArgs, PROJECT_ROOT } from '../helpers/pgtunnel-process.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { run } from '../helpers/run.js';

const DAY_MS = 86_400_000;

function assertFixed(findings: CheckFinding[], id: string, severity: string, fix: RegExp): void {
  const found = findingsOf(findings, id, severity);
  assert.ok(
    found.length > 0,
    `expected a ${severity} ${id}, got:\n${JSON.stringify(findings, null, 1)}`,
  );
  for (const finding of found) {
    assert.ok(finding.why, `${id} has no why`);
    assert.match(finding.fix ?? '', fix);
  }
}

describe('check: PostgreSQL 15 with ssl = off and a trust rule for TCP', () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await startCluster({
      hba: 'local all all trust\nhost all all 0.0.0.0/0 trust\n',
    });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('reports no TLS, plaintext authentication, the trust rule and open plaintext sessions, each with its fix', async () => {
    // A session open over TCP without TLS while the check runs.
    const client = new pg.Client({
      host: '127.0.0.1',
      port: cluster.port,
      user: 'postgres',
      database: 'postgres',
      application_name: 'app',
    });
    await client.connect();
    let json: Awaited<ReturnType<typeof runCheckJson>>;
    try {
      json = await runCheckJson([
        `host=127.0.0.1 port=${cluster.port} user=postgres dbname=postgres`,
      ]);
    } finally {
      await client.end();
    }
    const { result, findings } = json;
    assertFixed(findings, 'sessions-without-tls', 'warn', /sslmode=verify-full/);
    assert.deepEqual(findingsOf(findings, 'sessions-without-tls')[0]?.details, [
      '1 × postgres@postgres from 127.0.0.1',
    ]);
    assert.equal(result.code, 1, result.stderr);
    assertFixed(findings, 'sslrequest', 'fail', /ssl = on/);
    assertFixed(findings, 'plaintext-startup', 'fail', /hostssl/);
    assertFixed(findings, 'setting-ssl', 'fail', /ssl = on/);
    const trust = findingsOf(findings, 'hba-trust-tcp', 'fail');
    assert.equal(trust.length, 1);
    assert.match(trust[0]?.title ?? '', /line 2: host all all 0\.0\.0\.0\/0 trust/);
    assert.match(trust[0]?.fix ?? '', /pg_hba\.conf line 2: replace trust with scram-sha-256/);
    assertFixed(findings, 'hba-without-tls', 'warn', /hostssl instead of host/);
    assert.equal(findingsOf(findings, 'tls-version').length, 0, 'no TLS rows without TLS');
  });

  it('shows a progress line on standard error when it is a terminal', async () => {
    // script(1) gives the command a pseudo-terminal; its output is both streams.
    const command = [process.execPath, ...cliArgs(['check', `host=127.0.0.1 port=${cluster.port}`])]
      .map((word) => `'${word}'`)
      .join(' ');
    const result = await run('script', ['-qec', command, '/dev/null'], {
      cwd: PROJECT_ROOT,
      env: checkEnv(),
      timeoutMs: 300_000,
    });
    const erase = '\r\x1b[K';
    const progress = result.stdout.split(erase).slice(1);
    assert.match(progress[0] ?? '', /^checking 127\.0\.0\.1:\d+: 1 probe done \(negotiation\)$/);
    assert.match(
      progress.at(-1) ?? '',
      /^pgtunnel check 127\.0\.0\.1:\d+/,
      'erased before the report',
    );
  });

  it('prints the human report with why and fix lines, and no progress line without a terminal', async () => {
    const result = await runCheck([`host=127.0.0.1 port=${cluster.port}`]);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /FAIL {2}SSLRequest answered N: the server does not offer TLS/);
    assert.match(result.stdout, /fix: postgresql\.conf: ssl = on/);
    assert.match(result.stdout, /summary: \d+ fail/);
    assert.equal(result.stderr, '');
  });
});

describe('check: PostgreSQL 15 with TLS 1.0 and weak ciphers allowed', () => {
  let pki: TestPki;
  let cluster: Cluster;
  before(async () => {
    pki = await createTestPki({ keyType: 'rsa2048' });
    cluster = await startCluster({
      ssl: { certFile: pki.serverCert, keyFile: pki.serverKey, caFile: pki.caBundle },
      settings: {
        ssl_min_protocol_version: 'TLSv1',
        ssl_ciphers: 'ALL:@SECLEVEL=0',
        password_encryption: 'md5',
      },
      hba: 'local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n',
    });
    await cluster.sql("CREATE ROLE legacy LOGIN PASSWORD 'legacy-secret'");
  });
  after(async () => {
    await cluster?.stop();
    await pki?.cleanup();
  });

  it('reports the old versions, the weak suites and the settings behind them', async () => {
    const { result, json, findings } = await runCheckJson([
      `host=localhost port=${cluster.port} user=postgres dbname=postgres sslmode=verify-full sslrootcert=${pki.caBundle}`,
    ]);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(json.schemaVersion, 1);
    const versions = findingsOf(findings, 'tls-version', 'fail').map((f) => f.title);
    assert.deepEqual(versions, ['TLSv1 accepted', 'TLSv1.1 accepted']);
    assertFixed(findings, 'tls-version', 'fail', /ssl_min_protocol_version = 'TLSv1\.2'/);
    assertFixed(findings, 'cipher-anonymous', 'fail', /ssl_ciphers = /);
    assertFixed(findings, 'cipher-no-forward-secrecy', 'warn', /ssl_ciphers = /);
    assertFixed(findings, 'cipher-cbc-tls10', 'warn', /ssl_min_protocol_version/);
    assertFixed(
      findings,
      'setting-ssl-min-protocol-version',
      'fail',
      /ssl_min_protocol_version = 'TLSv1\.2'/,
    );
    assertFixed(findings, 'setting-ssl-ciphers', 'warn', /ssl_ciphers = /);
    assertFixed(findings, 'setting-password-encryption', 'warn', /scram-sha-256/);
    assertFixed(findings, 'md5-passwords', 'warn', /ALTER ROLE/);
    assert.deepEqual(findingsOf(findings, 'md5-passwords')[0]?.details, ['legacy']);
    // the good parts are seen too
    assert.equal(findingsOf(findings, 'plaintext-startup', 'ok').length, 1);
    assert.equal(findingsOf(findings, 'certificate-trust', 'ok').length, 1);
    assert.equal(
      findingsOf(findings, 'scram-channel-binding').length,
      0,
      'trust over TLS: no SASL',
    );
    assertFixed(findings, 'trust-over-tcp', 'fail', /scram-sha-256/);
    const request = findingsOf(findings, 'client-certificate-request')[0];
    assert.match(request?.title ?? '', /asks for a client certificate from these CAs/);
    assert.deepEqual(request?.details, [
      'CN = pgtunnel Test Root CA',
      'CN = pgtunnel Test Intermediate CA',
    ]);
  });

  it('finds the same versions and suites as sslscan --starttls-psql', async () => {
    const { json } = await runCheckJson([
      `host=localhost port=${cluster.port} sslrootcert=${pki.caBundle}`,
    ]);
    await assertAgreesWithSslscan(json, cluster.port, true);
  });

  it('a bad --fail-on is a usage error (exit 2)', async () => {
    const usage = await runCheck(['--fail-on', 'sometimes', `host=localhost port=${cluster.port}`]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--fail-on must be info, warn or fail, not "sometimes"/);
  });
});

describe('check: an expired certificate and a second host name', () => {
  let pki: TestPki;
  let cluster: Cluster;
  before(async () => {
    pki = await createTestPki();
    const store = new CaStore(join(pki.dir, 'ca'));
    const now = Date.now();
    const expired = await store.issue({
      kind: 'server',
      commonName: 'localhost',
      sans: ['DNS:localhost', 'IP:127.0.0.1'],
      keyType: 'ecdsa-p256',
      notBefore: new Date(now - 30 * DAY_MS),
      notAfter: new Date(now - 2 * DAY_MS),
      certFile: join(pki.dir, 'expired.crt'),
      keyFile: join(pki.dir, 'expired.key'),
    });
    cluster = await startCluster({
      ssl: { certFile: expired.certFile, keyFile: expired.keyFile },
      hba: 'local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n',
    });
  });
  after(async () => {
    await cluster?.stop();
    await pki?.cleanup();
  });

  it('fails the expiry and the unnamed host, with the fixes', async () => {
    const { result, findings } = await runCheckJson([
      '--name',
      'db.example.com',
      `host=localhost port=${cluster.port} sslrootcert=${pki.caBundle}`,
    ]);
    assert.equal(result.code, 1, result.stderr);
    assertFixed(findings, 'certificate-expiry', 'fail', /renew the certificate/);
    assert.match(
      findingsOf(findings, 'certificate-expiry')[0]?.title ?? '',
      /^expired on \d{4}-\d\d-\d\d \(2 days ago\)$/,
    );
    assertFixed(findings, 'certificate-trust', 'fail', /./);
    assert.match(
      findingsOf(findings, 'certificate-trust')[0]?.title ?? '',
      /certificate has expired/,
    );
    const names = findingsOf(findings, 'certificate-host-name');
    assert.deepEqual(
      names.map((f) => [f.severity, f.title]),
      [
        ['ok', 'host name "localhost" matches'],
        [
          'fail',
          'server certificate for "localhost" (and 1 other name) does not match host name "db.example.com"',
        ],
      ],
    );
    assert.equal(findingsOf(findings, 'scram-channel-binding', 'ok').length, 1);
    assert.equal(
      findingsOf(findings, 'client-certificate-request')[0]?.title,
      'the server does not ask for a client certificate (cert authentication and clientcert= are not possible)',
    );
  });
});
