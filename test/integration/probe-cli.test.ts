// `pgtunnel probe`: the credential-less TLS check used as a Kubernetes exec probe, against a
// real gateway (TLS), a real PostgreSQL without TLS, and a closed port; exit status and the
// libpq wording of each failure.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';
import { cliArgs } from '../helpers/pgtunnel-process.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { run } from '../helpers/run.js';

const probe = (args: string[]) => run(process.execPath, cliArgs(['probe', ...args]));

describe('pgtunnel probe HOST:PORT', () => {
  let env: GatewayEnv;
  let otherPki: TestPki;

  before(async () => {
    env = await startGatewayEnv();
    otherPki = await createTestPki();
  });
  after(async () => {
    await env?.close();
    await otherPki?.cleanup();
  });

  it('exits 0 after a verified TLS handshake, and the gateway logs no failed connection', async () => {
    const before = env.gateway.logs().length;
    const result = await probe([
      `127.0.0.1:${env.port}`,
      '--sslmode',
      'verify-full',
      '--sslrootcert',
      env.pki.caBundle,
      '--servername',
      'localhost',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^127\.0\.0\.1:\d+: TLSv1\.3 \(TLS_\w+\), certificate "CN=localhost", verified for "localhost"\n$/,
    );
    const later = env.gateway.logs().slice(before);
    assert.deepEqual(
      later.filter((r) => Number(r.level) >= 30).map((r) => r.msg),
      [],
      'a probe leaves no info, warning or error in the gateway log',
    );
  });

  it('exits 0 with sslmode=require without a CA (and says it did not verify)', async () => {
    const result = await probe([`localhost:${env.port}`]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /not verified \(sslmode=require\)/);
  });

  it('exits 1 when the name does not match, with libpq’s message', async () => {
    const result = await probe([
      `127.0.0.1:${env.port}`,
      '--sslmode',
      'verify-full',
      '--sslrootcert',
      env.pki.caBundle,
      '--servername',
      'db-b.test',
    ]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /server certificate for "localhost" .*does not match host name "db-b\.test"/,
    );
  });

  it('exits 1 when the chain is not from the given CA', async () => {
    const result = await probe([
      `127.0.0.1:${env.port}`,
      '--sslmode',
      'verify-ca',
      '--sslrootcert',
      otherPki.caBundle,
    ]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /certificate verify failed/);
  });

  it('exits 1 when the server refuses TLS (PostgreSQL with ssl off)', async () => {
    const result = await probe([`127.0.0.1:${env.cluster.port}`]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /server does not support SSL, but SSL was required/);
  });

  it('exits 1 when nothing listens', async () => {
    const result = await probe([`127.0.0.1:${await freePort()}`]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Connection refused/);
  });

  it('exits 2 for a mode that would not insist on TLS', async () => {
    const result = await probe([`127.0.0.1:${env.port}`, '--sslmode', 'prefer']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--sslmode must be one of require, verify-ca, verify-full/);
  });
});
