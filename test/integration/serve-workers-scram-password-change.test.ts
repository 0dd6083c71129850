// With several workers, each keeps its own auth_query cache; after ALTER ROLE … PASSWORD the
// first login with the new password must still succeed on every worker: the server's salt
// shows that a cached secret is stale, and the gateway looks it up again within that login.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runPsql } from '../helpers/clients.js';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { allWorkersServe, waitForStatus } from '../helpers/worker-status.js';

const WORKERS = 3;
const HBA = ['local all all trust', 'hostssl all all 127.0.0.1/32 scram-sha-256', ''].join('\n');
const SETUP_SQL = `
SET password_encryption = 'scram-sha-256';
CREATE ROLE auth_scram LOGIN PASSWORD 'auth-scram-pw';
CREATE ROLE dana LOGIN PASSWORD 'dana-old';
CREATE FUNCTION public.pgtunnel_secret(name) RETURNS text
  LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
  AS $$ SELECT rolpassword FROM pg_authid WHERE rolname = $1 AND rolcanlogin $$;
REVOKE ALL ON FUNCTION public.pgtunnel_secret(name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.pgtunnel_secret(name) TO auth_scram;
`;

describe('serve: a password change with 3 workers and auth_user', () => {
  let pki: TestPki;
  let env: GatewayEnv;
  let adminPort: number;
  const login = (password: string) =>
    runPsql({
      conninfo: env.conninfo('user=dana'),
      env: { PGPASSWORD: password },
      sql: 'SELECT current_user',
    });
  /** Pids of the workers that authorized dana's sessions logged after `from`. */
  const servedBy = (from: number) =>
    env.gateway
      .logs()
      .slice(from)
      .filter((r) => r.msg === 'connection authorized' && r.user === 'dana')
      .map((r) => r.pid);

  before(async () => {
    pki = await createTestPki();
    adminPort = await freePort();
    env = await startGatewayEnv({
      pki,
      cluster: {
        ssl: { certFile: pki.serverCert, keyFile: pki.serverKey, caFile: pki.caBundle },
        hba: HBA,
      },
      upstream: (cluster) =>
        `host=localhost port=${cluster.port} sslmode=verify-full sslrootcert=${pki.caBundle} password=auth-scram-pw`,
      serveArgs: [
        '--workers',
        String(WORKERS),
        '--auth-user',
        'auth_scram',
        '--auth-query',
        'SELECT public.pgtunnel_secret($1)',
        '--log-connections',
        'on',
        '--admin-listen',
        `127.0.0.1:${adminPort}`,
      ],
    });
    await env.cluster.sql(SETUP_SQL);
    await waitForStatus(adminPort, allWorkersServe(WORKERS));
  });
  after(async () => {
    await env?.close();
    await pki?.cleanup();
  });

  it('accepts the new password on the first try through every worker', async () => {
    // Every worker caches the old secret. Workers take connections as each is free, not in
    // turn: log in until each has served one (a worker left out never would).
    const from = env.gateway.logs().length;
    for (let i = 0; i < 100 && new Set(servedBy(from)).size < WORKERS; i++) {
      const result = await login('dana-old');
      assert.equal(result.code, 0, result.stderr);
    }
    assert.equal(new Set(servedBy(from)).size, WORKERS, 'each worker served the old password');

    await env.cluster.sql(
      "SET password_encryption = 'scram-sha-256'; ALTER ROLE dana PASSWORD 'dana-new'",
    );
    const after = env.gateway.logs().length;
    // Every login succeeds, the first one each worker takes (with its stale secret) included.
    for (let i = 0; i < 100 && new Set(servedBy(after)).size < WORKERS; i++) {
      const result = await login('dana-new');
      assert.equal(result.code, 0, `login ${i + 1} with the new password: ${result.stderr}`);
      assert.equal(result.stdout.trim(), 'dana');
    }
    assert.equal(new Set(servedBy(after)).size, WORKERS, 'every worker took a new login');
    const old = await login('dana-old');
    assert.notEqual(old.code, 0, 'the old password must not work after the change');
    assert.match(old.stderr, /password authentication failed for user "dana"/);
  });
});
