// SCRAM through a gateway that is TLS on both legs, with auth_user looking up secrets: libpq
// 15 and 18 with channel_binding=prefer and =require (bound to the gateway's certificate),
// node-postgres with channel binding, unknown users and non-SCRAM secrets refused like
// PostgreSQL refuses them, a password change, and auth_user logging in with SCRAM, MD5 from a
// password file, or a client certificate.
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { runPsql } from '../helpers/clients.js';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';
import { type PgtunnelProcess, startPgtunnel } from '../helpers/pgtunnel-process.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';

const HBA = [
  'local all all trust',
  'hostssl all auth_scram 127.0.0.1/32 scram-sha-256',
  'hostssl all auth_md5 127.0.0.1/32 md5',
  'hostssl all auth_cert 127.0.0.1/32 cert',
  'hostssl all all 127.0.0.1/32 scram-sha-256',
  '',
].join('\n');

/** A SECURITY DEFINER lookup, so that auth_user needs no superuser rights (PgBouncer's advice). */
const SETUP_SQL = `
SET password_encryption = 'scram-sha-256';
CREATE ROLE auth_scram LOGIN PASSWORD 'auth-scram-pw';
CREATE ROLE auth_cert LOGIN;
CREATE ROLE alice LOGIN PASSWORD 'alice-pw';
CREATE ROLE bob LOGIN PASSWORD 'bob-pw';
CREATE ROLE carol LOGIN PASSWORD 'carol-pw';
CREATE ROLE nologin_user NOLOGIN PASSWORD 'nologin-pw';
SET password_encryption = 'md5';
CREATE ROLE auth_md5 LOGIN PASSWORD 'auth-md5-pw';
CREATE ROLE md5_only LOGIN PASSWORD 'md5-pw';
CREATE FUNCTION public.pgtunnel_secret(name) RETURNS text
  LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
  AS $$ SELECT rolpassword FROM pg_authid WHERE rolname = $1 AND rolcanlogin $$;
REVOKE ALL ON FUNCTION public.pgtunnel_secret(name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.pgtunnel_secret(name) TO auth_scram, auth_md5, auth_cert;
`;
const AUTH_QUERY = 'SELECT public.pgtunnel_secret($1)';

interface ExtraGateway {
  process: PgtunnelProcess;
  conninfo(extra?: string): string;
}

describe('serve: SCRAM through a TLS upstream leg with auth_user', () => {
  let pki: TestPki;
  let env: GatewayEnv;
  const extras: ExtraGateway[] = [];
  let upstreamBase: string;

  /** Another gateway on the same cluster with its own upstream conninfo and auth_user. */
  async function extraGateway(upstream: string, authUser: string): Promise<ExtraGateway> {
    const port = await freePort();
    const process = await startPgtunnel([
      'serve',
      '--listen-addresses',
      '127.0.0.1',
      '--port',
      String(port),
      '--ssl-cert-file',
      pki.serverCert,
      '--ssl-key-file',
      pki.serverKey,
      '--upstream',
      upstream,
      '--auth-user',
      authUser,
      '--auth-query',
      AUTH_QUERY,
      '--workers',
      '1',
    ]);
    const gateway = {
      process,
      conninfo: (extra = '') =>
        `host=localhost port=${port} dbname=postgres sslmode=verify-full sslrootcert=${pki.caBundle} ${extra}`,
    };
    extras.push(gateway);
    return gateway;
  }

  before(async () => {
    pki = await createTestPki();
    env = await startGatewayEnv({
      pki,
      cluster: {
        ssl: { certFile: pki.serverCert, keyFile: pki.serverKey, caFile: pki.caBundle },
        hba: HBA,
        // counts the gateway's auth_query logins
        settings: { log_connections: 'on' },
      },
      upstream: (cluster) => {
        upstreamBase = `host=localhost port=${cluster.port} sslmode=verify-full sslrootcert=${pki.caBundle}`;
        return `${upstreamBase} password=auth-scram-pw`;
      },
      serveArgs: ['--auth-user', 'auth_scram', '--auth-query', AUTH_QUERY],
    });
    await env.cluster.sql(SETUP_SQL);
  });
  after(async () => {
    for (const gateway of extras) await gateway.process.stop('SIGINT');
    await env?.close();
    await pki?.cleanup();
  });

  for (const libpq of ['system', '18'] as const) {
    const version = libpq === 'system' ? '15' : '18';
    it(`libpq ${version}: channel_binding=prefer and =require both succeed`, async () => {
      for (const binding of ['prefer', 'require']) {
        const result = await runPsql({
          conninfo: env.conninfo(`user=alice channel_binding=${binding}`),
          env: { PGPASSWORD: 'alice-pw' },
          libpq,
          sql: 'SELECT current_user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
        });
        assert.equal(result.code, 0, `channel_binding=${binding}: ${result.stderr}`);
        assert.equal(result.stdout.trim(), 'alice|t');
      }
    });
  }

  it("refuses a wrong password with PostgreSQL's message and SQLSTATE", async () => {
    const result = await runPsql({
      conninfo: env.conninfo('user=alice'),
      env: { PGPASSWORD: 'wrong' },
    });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /FATAL: {2}password authentication failed for user "alice"/);
    const client = new pg.Client({
      host: 'localhost',
      port: env.port,
      user: 'alice',
      password: 'wrong',
      database: 'postgres',
      enableChannelBinding: true,
      ssl: { ca: readFileSync(pki.caBundle), servername: 'localhost', rejectUnauthorized: true },
    });
    await assert.rejects(
      client.connect(),
      (error: Error & { code?: string; severity?: string }) => {
        assert.equal(error.code, '28P01');
        assert.equal(error.severity, 'FATAL');
        assert.equal(error.message, 'password authentication failed for user "alice"');
        return true;
      },
    );
  });

  it('refuses unknown users, NOLOGIN roles and MD5 secrets exactly like a wrong password', async () => {
    for (const user of ['ghost', 'nologin_user', 'md5_only']) {
      const result = await runPsql({
        conninfo: env.conninfo(`user=${user}`),
        env: { PGPASSWORD: 'md5-pw' },
      });
      assert.notEqual(result.code, 0);
      assert.match(
        result.stderr,
        new RegExp(`FATAL: {2}password authentication failed for user "${user}"\\n?$`),
      );
    }
  });

  it('lets the server judge: after a password change the old password is refused', async () => {
    const ok = (password: string) =>
      runPsql({ conninfo: env.conninfo('user=bob'), env: { PGPASSWORD: password } });
    assert.equal((await ok('bob-pw')).code, 0); // the secret is now cached
    await env.cluster.sql(
      "SET password_encryption = 'scram-sha-256'; ALTER ROLE bob PASSWORD 'bob-new'",
    );
    const old = await ok('bob-pw');
    assert.notEqual(old.code, 0, 'the old password must not work after the change');
    assert.match(old.stderr, /password authentication failed for user "bob"/);
    // the client's proof matched the cached secret; the server, with its new salt, said no
    await env.gateway.waitForLog('SCRAM secret changed on the server');
    const fresh = await ok('bob-new');
    assert.equal(fresh.code, 0, fresh.stderr);
  });

  it('looks a secret up once for concurrent logins and reuses it while cached', async () => {
    const lookups = () =>
      env.cluster
        .log()
        .split('\n')
        .filter((line) => /user=auth_scram .*pgtunnel auth_query/.test(line)).length;
    const before = lookups();
    const login = () =>
      runPsql({ conninfo: env.conninfo('user=carol'), env: { PGPASSWORD: 'carol-pw' } });
    const results = await Promise.all([login(), login(), login(), login(), login()]);
    for (const result of results) assert.equal(result.code, 0, result.stderr);
    for (const result of [await login(), await login()])
      assert.equal(result.code, 0, result.stderr);
    assert.equal(lookups() - before, 1, env.cluster.log());
  });

  it('serves node-postgres with SCRAM-SHA-256-PLUS bound to the gateway certificate', async () => {
    for (const enableChannelBinding of [true, false]) {
      const client = new pg.Client({
        host: 'localhost',
        port: env.port,
        user: 'alice',
        password: 'alice-pw',
        database: 'postgres',
        enableChannelBinding,
        ssl: { ca: readFileSync(pki.caBundle), servername: 'localhost', rejectUnauthorized: true },
      });
      await client.connect();
      try {
        const result = await client.query('SELECT current_user AS who');
        assert.equal(result.rows[0].who, 'alice');
      } finally {
        await client.end();
      }
    }
  });

  it('auth_user logs in with MD5 using a password file', async () => {
    const passfile = join(env.dir, 'pgpass');
    writeFileSync(
      passfile,
      `# auth_user's line\nlocalhost:${env.cluster.port}:postgres:auth_md5:auth-md5-pw\n`,
    );
    chmodSync(passfile, 0o600);
    const gateway = await extraGateway(`${upstreamBase} passfile=${passfile}`, 'auth_md5');
    const result = await runPsql({
      conninfo: gateway.conninfo('user=alice channel_binding=require'),
      env: { PGPASSWORD: 'alice-pw' },
      sql: 'SELECT current_user',
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'alice');
  });

  it('auth_user logs in with a client certificate from the upstream conninfo', async () => {
    const { cert, key } = await pki.client('auth_cert');
    const gateway = await extraGateway(
      `${upstreamBase} sslcert=${cert} sslkey=${key}`,
      'auth_cert',
    );
    const result = await runPsql({
      conninfo: gateway.conninfo('user=alice'),
      env: { PGPASSWORD: 'alice-pw' },
      sql: 'SELECT current_user',
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'alice');
  });

  it('says so (and logs why) when auth_user cannot log in', async () => {
    const gateway = await extraGateway(`${upstreamBase} password=not-the-password`, 'auth_scram');
    const result = await runPsql({
      conninfo: gateway.conninfo('user=alice'),
      env: { PGPASSWORD: 'alice-pw' },
    });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /FATAL: {2}could not look up the SCRAM secret of user "alice"/);
    assert.match(result.stderr, /HINT: {2}.*auth_user/);
    // the server's reason stays in the gateway's log, not in front of the client
    assert.doesNotMatch(result.stderr, /auth_scram/);
    const record = await gateway.process.waitForLog('could not look up the SCRAM secret');
    assert.match(String(record.err), /password authentication failed for user "auth_scram"/);
  });
});
