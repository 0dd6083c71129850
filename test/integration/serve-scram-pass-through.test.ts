// Authentication passed through unparsed where that works: a unix-socket upstream leg carries
// SCRAM (no channel binding on either side), MD5 and cleartext passwords. Over a TLS upstream
// leg without auth_user, MD5 and passwords still pass, and SCRAM is refused with a FATAL that
// names the fix instead of PostgreSQL's "channel binding negotiation error".
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { psqlOk, runPsql } from '../helpers/clients.js';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';
import { type PgtunnelProcess, startPgtunnel } from '../helpers/pgtunnel-process.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';

const METHODS = [
  ['scram_user', 'scram-sha-256'],
  ['md5_user', 'md5'],
  ['pw_user', 'password'],
] as const;

const HBA = [
  'local all postgres trust',
  ...METHODS.map(([user, method]) => `local all ${user} ${method}`),
  ...METHODS.map(([user, method]) => `hostssl all ${user} 127.0.0.1/32 ${method}`),
  '',
].join('\n');

const PASSWORDS: Record<string, string> = {
  scram_user: 'scram-secret',
  md5_user: 'md5-secret',
  pw_user: 'pw-secret',
};

describe('serve: authentication pass-through', () => {
  let pki: TestPki;
  let env: GatewayEnv;
  let tlsGateway: PgtunnelProcess;
  let tlsGatewayPort: number;

  before(async () => {
    pki = await createTestPki();
    // the default upstream of the scene: the cluster's unix socket
    env = await startGatewayEnv({
      pki,
      cluster: { ssl: { certFile: pki.serverCert, keyFile: pki.serverKey }, hba: HBA },
    });
    await env.cluster.sql(
      "SET password_encryption = 'scram-sha-256'; CREATE ROLE scram_user LOGIN PASSWORD 'scram-secret'; CREATE ROLE pw_user LOGIN PASSWORD 'pw-secret'",
    );
    await env.cluster.sql(
      "SET password_encryption = 'md5'; CREATE ROLE md5_user LOGIN PASSWORD 'md5-secret'",
    );
    tlsGatewayPort = await freePort();
    tlsGateway = await startPgtunnel([
      'serve',
      '--listen-addresses',
      '127.0.0.1',
      '--port',
      String(tlsGatewayPort),
      '--ssl-cert-file',
      pki.serverCert,
      '--ssl-key-file',
      pki.serverKey,
      '--upstream',
      `host=localhost port=${env.cluster.port} sslmode=verify-full sslrootcert=${pki.caBundle}`,
      '--workers',
      '1',
    ]);
  });
  after(async () => {
    await tlsGateway?.stop('SIGINT');
    await env?.close();
    await pki?.cleanup();
  });

  const viaTlsGateway = (extra: string) =>
    `host=localhost port=${tlsGatewayPort} dbname=postgres sslmode=verify-full sslrootcert=${pki.caBundle} ${extra}`;

  for (const libpq of ['system', '18'] as const) {
    it(`unix-socket upstream: scram, md5 and password pass through (libpq ${libpq === 'system' ? '15' : '18'})`, async () => {
      for (const [user] of METHODS) {
        const out = await psqlOk({
          conninfo: env.conninfo(`user=${user}`),
          env: { PGPASSWORD: PASSWORDS[user] ?? '' },
          libpq,
          sql: "SELECT current_user || ' ' || (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())",
        });
        // the upstream leg is the unix socket: no TLS there
        assert.equal(out, `${user} false`);
      }
    });
  }

  it("unix-socket upstream: a wrong SCRAM password gets the server's own error", async () => {
    const result = await runPsql({
      conninfo: env.conninfo('user=scram_user'),
      env: { PGPASSWORD: 'wrong' },
    });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /FATAL: {2}password authentication failed for user "scram_user"/);
  });

  it('unix-socket upstream: channel_binding=require is refused by libpq (nothing to bind to)', async () => {
    const result = await runPsql({
      conninfo: env.conninfo('user=scram_user channel_binding=require'),
      env: { PGPASSWORD: 'scram-secret' },
    });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /channel binding/);
  });

  it('TLS upstream without auth_user: md5 and password still pass through', async () => {
    for (const user of ['md5_user', 'pw_user']) {
      const out = await psqlOk({
        conninfo: viaTlsGateway(`user=${user}`),
        env: { PGPASSWORD: PASSWORDS[user] ?? '' },
        sql: "SELECT current_user || ' ' || (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())",
      });
      assert.equal(out, `${user} true`);
    }
  });

  it('TLS upstream without auth_user: SCRAM is refused with a FATAL naming auth_user', async () => {
    const result = await runPsql({
      conninfo: viaTlsGateway('user=scram_user'),
      env: { PGPASSWORD: 'scram-secret' },
    });
    assert.notEqual(result.code, 0);
    assert.match(
      result.stderr,
      /FATAL: {2}the gateway cannot pass SCRAM authentication through to a server it reaches over TLS/,
    );
    assert.match(result.stderr, /HINT: {2}Set auth_user/);
    assert.doesNotMatch(result.stderr, /negotiation error/);

    const client = new pg.Client({
      host: 'localhost',
      port: tlsGatewayPort,
      user: 'scram_user',
      password: 'scram-secret',
      database: 'postgres',
      ssl: { ca: readFileSync(pki.caBundle), servername: 'localhost', rejectUnauthorized: true },
    });
    await assert.rejects(client.connect(), (error: Error & { code?: string; hint?: string }) => {
      assert.equal(error.code, '28000');
      assert.match(error.hint ?? '', /auth_user/);
      return true;
    });
    await tlsGateway.waitForLog('SCRAM through a TLS upstream connection needs auth_user');
  });
});
