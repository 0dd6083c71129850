// `pgtunnel check` against what usually stands in front of PostgreSQL: `pgtunnel serve` in its
// default configuration (no fail), stunnel4 terminating TLS directly, PgBouncer with TLS; and
// PostgreSQL 18 with direct TLS. The version and cipher rows agree with sslscan's.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  assertAgreesWithSslscan,
  type CheckFinding,
  type CheckJson,
  findingsOf,
  runCheckJson,
} from '../helpers/check-cli.js';
import { spawn } from '../helpers/children.js';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { type Stunnel, startStunnel } from '../helpers/stunnel.js';

function assertOne(findings: CheckFinding[], id: string, severity: string): void {
  const rows = findings.filter((f) => f.id === id).map((f) => `${f.severity} ${f.title}`);
  assert.equal(findingsOf(findings, id, severity).length, 1, `${id}: ${JSON.stringify(rows)}`);
}

function failures(json: CheckJson) {
  return json.targets.flatMap((t) => t.findings).filter((f) => f.severity === 'fail');
}

describe('check: pgtunnel serve in its default configuration', () => {
  let env: GatewayEnv;
  before(async () => {
    env = await startGatewayEnv({
      cluster: { hba: 'local all all scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\n' },
    });
  });
  after(async () => {
    await env?.close();
  });

  it('reports no fail, and its rows agree with sslscan', async () => {
    const { result, json, findings } = await runCheckJson([
      `host=localhost port=${env.port} sslrootcert=${env.pki.caBundle}`,
    ]);
    assert.deepEqual(failures(json), []);
    assert.equal(result.code, 0, result.stdout);
    assertOne(findings, 'plaintext-startup', 'ok');
    assertOne(findings, 'direct-tls', 'ok');
    assertOne(findings, 'direct-tls-without-alpn', 'ok');
    await assertAgreesWithSslscan(json, env.port, true);
  });
});

describe('check: stunnel4 terminating TLS in front of PostgreSQL', () => {
  let pki: TestPki;
  let cluster: Cluster;
  let stunnel: Stunnel;
  let port: number;
  before(async () => {
    pki = await createTestPki();
    cluster = await startCluster({
      hba: 'local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n',
    });
    port = await freePort();
    stunnel = await startStunnel({
      client: false,
      acceptPort: port,
      connect: `127.0.0.1:${cluster.port}`,
      options: { cert: pki.serverCert, key: pki.serverKey },
    });
  });
  after(async () => {
    await stunnel?.stop();
    await cluster?.stop();
    await pki?.cleanup();
  });

  it('is reached with direct TLS, warns that it takes TLS without ALPN, and agrees with sslscan', async () => {
    const { result, json, findings } = await runCheckJson([
      `host=localhost port=${port} sslmode=verify-full sslnegotiation=direct sslrootcert=${pki.caBundle}`,
    ]);
    assert.notEqual(result.code, 4, result.stderr);
    assertOne(findings, 'sslrequest', 'info');
    assertOne(findings, 'direct-tls-without-alpn', 'warn');
    assertOne(findings, 'certificate-trust', 'ok');
    // the plaintext startup reaches PostgreSQL through stunnel? No: stunnel wants TLS first.
    assert.equal(findingsOf(findings, 'plaintext-startup', 'fail').length, 0);
    assert.deepEqual(
      findingsOf(findings, 'scram-channel-binding').map((f) => f.severity),
      ['warn'],
    );
    await assertAgreesWithSslscan(json, port, false);
  });
});

describe('check: PgBouncer with TLS', () => {
  let pki: TestPki;
  let cluster: Cluster;
  let dir: string;
  let bouncer: ChildProcess;
  let port: number;
  let output = '';
  before(async () => {
    pki = await createTestPki();
    cluster = await startCluster({ hba: 'local all all trust\nhost all all 127.0.0.1/32 trust\n' });
    dir = mkdtempSync(join(tmpdir(), 'pgtunnel-pgbouncer-'));
    port = await freePort();
    const key = join(dir, 'server.key');
    copyFileSync(pki.serverKey, key);
    const passwd = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('postgres:'));
    const [, , uid, gid] = passwd?.split(':') ?? [];
    const asRoot = process.getuid?.() === 0;
    if (asRoot) chownSync(key, Number(uid), Number(gid));
    writeFileSync(join(dir, 'userlist.txt'), '"postgres" ""\n');
    writeFileSync(
      join(dir, 'pgbouncer.ini'),
      [
        '[databases]',
        `* = host=${cluster.socketDir} port=${cluster.port}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        'unix_socket_dir =',
        'auth_type = trust',
        `auth_file = ${join(dir, 'userlist.txt')}`,
        'client_tls_sslmode = allow',
        `client_tls_cert_file = ${pki.serverCert}`,
        `client_tls_key_file = ${key}`,
        'client_tls_protocols = all',
        'client_tls_ciphers = ALL:@SECLEVEL=0',
        '',
      ].join('\n'),
    );
    if (asRoot) chownSync(dir, Number(uid), Number(gid));
    bouncer = spawn(
      '/usr/sbin/pgbouncer',
      [...(asRoot ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    bouncer.stdout?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    bouncer.stderr?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    for (;;) {
      if (bouncer.exitCode !== null) throw new Error(`pgbouncer exited:\n${output}`);
      const up = await new Promise<boolean>((resolve) => {
        const probe = connect(port, '127.0.0.1');
        probe.once('connect', () => {
          probe.destroy();
          resolve(true);
        });
        probe.once('error', () => resolve(false));
      });
      if (up) break;
      await delay(50);
    }
  });
  after(async () => {
    if (bouncer && bouncer.exitCode === null) {
      const exited = once(bouncer, 'exit');
      bouncer.kill('SIGTERM');
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    await cluster?.stop();
    await pki?.cleanup();
  });

  it('reports TLS 1.0, plaintext and trust, and agrees with sslscan', async () => {
    const { result, json, findings } = await runCheckJson([
      `host=localhost port=${port} user=postgres dbname=postgres sslrootcert=${pki.caBundle}`,
    ]);
    assert.equal(result.code, 1, output);
    assert.deepEqual(
      findingsOf(findings, 'sslrequest').map((f) => f.severity),
      ['ok'],
    );
    assertOne(findings, 'plaintext-startup', 'fail');
    assert.ok(
      findingsOf(findings, 'tls-version', 'fail').some((f) => f.title === 'TLSv1 accepted'),
    );
    await assertAgreesWithSslscan(json, port, true);
  });
});

describe('check: PostgreSQL 18 with direct TLS', () => {
  let pki: TestPki;
  let cluster: Cluster;
  before(async () => {
    pki = await createTestPki();
    cluster = await startCluster({
      flavor: 'embedded',
      ssl: { certFile: pki.serverCert, keyFile: pki.serverKey },
      hba: 'local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\nhostnossl all all 0.0.0.0/0 reject\n',
    });
  });
  after(async () => {
    await cluster?.stop();
    await pki?.cleanup();
  });

  it('accepts direct TLS with ALPN postgresql and refuses it without, with no fail', async () => {
    const { result, findings } = await runCheckJson([
      `host=localhost port=${cluster.port} sslmode=verify-full sslnegotiation=direct sslrootcert=${pki.caBundle}`,
    ]);
    assert.deepEqual(
      findings.filter((f) => f.severity === 'fail'),
      [],
    );
    assert.equal(result.code, 0);
    assert.match(
      findingsOf(findings, 'direct-tls', 'ok')[0]?.title ?? '',
      /ALPN postgresql negotiated/,
    );
    assertOne(findings, 'direct-tls-without-alpn', 'ok');
    assertOne(findings, 'sslrequest', 'ok');
    assertOne(findings, 'scram-channel-binding', 'ok');
    assert.match(findingsOf(findings, 'plaintext-startup', 'ok')[0]?.title ?? '', /no encryption/);
  });
});
