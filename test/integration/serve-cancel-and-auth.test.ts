// Query cancel through the gateway (libpq 15 sends CancelRequest in plaintext, libpq 18 inside
// TLS), password and md5 authentication passed through to PostgreSQL over a TLS upstream leg,
// SCRAM there through the gateway's SCRAM proxy (auth_user = a superuser the server trusts),
// with channel_binding=prefer and =require, and a Node client.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { clientBinary, embeddedPostgres } from '../../src/demo/postgres-binaries.js';
import { spawn } from '../helpers/children.js';
import { psqlOk, runPsql } from '../helpers/clients.js';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';

const HBA = [
  'local all all trust',
  'hostssl all postgres 127.0.0.1/32 trust',
  'hostssl all pw_user 127.0.0.1/32 password',
  'hostssl all md5_user 127.0.0.1/32 md5',
  'hostssl all scram_user 127.0.0.1/32 scram-sha-256',
  '',
].join('\n');

/** Runs psql with a long query, sends it SIGINT (Ctrl-C) after `delayMs`, returns its output. */
/** Runs a long query with psql and presses Ctrl-C once `running()` says the query runs. */
function cancelViaPsql(
  conninfo: string,
  libpq: 'system' | '18',
  running: () => Promise<boolean>,
): Promise<{ stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, PGCONNECT_TIMEOUT: '10' };
    if (libpq === '18') env.LD_LIBRARY_PATH = embeddedPostgres().libDir;
    const child = spawn(clientBinary('psql'), ['-X', '-d', conninfo, '-c', 'SELECT pg_sleep(30)'], {
      env,
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    let closed = false;
    const pressCtrlC = async () => {
      while (!closed && !(await running())) await delay(50);
      if (!closed) child.kill('SIGINT');
    };
    pressCtrlC().catch(reject);
    child.on('error', reject);
    child.on('close', (code) => {
      closed = true;
      resolve({ stderr, code });
    });
  });
}

describe('serve: cancel and authentication over a TLS upstream leg', () => {
  let env: GatewayEnv;
  let pki: TestPki;
  before(async () => {
    pki = await createTestPki();
    env = await startGatewayEnv({
      pki,
      cluster: { ssl: { certFile: pki.serverCert, keyFile: pki.serverKey }, hba: HBA },
      upstream: (cluster) =>
        `host=localhost port=${cluster.port} sslmode=verify-full sslrootcert=${pki.caBundle}`,
      // auth_user logs in by trust (hostssl … postgres … trust) and uses the default auth_query
      serveArgs: ['--auth-user', 'postgres'],
    });
    await env.cluster.sql(
      "SET password_encryption = 'scram-sha-256'; CREATE ROLE scram_user LOGIN PASSWORD 'scram-secret'",
    );
    await env.cluster.sql("CREATE ROLE pw_user LOGIN PASSWORD 'pw-secret'");
    await env.cluster.sql(
      "SET password_encryption = 'md5'; CREATE ROLE md5_user LOGIN PASSWORD 'md5-secret'",
    );
  });
  after(async () => {
    await env?.close();
    await pki?.cleanup();
  });

  for (const libpq of ['system', '18'] as const) {
    it(`cancels a running query on Ctrl-C (libpq ${libpq === 'system' ? '15' : '18'})`, async () => {
      const running = async () =>
        (await env.cluster.sql(
          "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'",
        )) === '1';
      const { stderr, code } = await cancelViaPsql(env.conninfo(), libpq, running);
      // The cancel ended the 30 s sleep: psql reports the error and fails.
      assert.match(stderr, /canceling statement due to user request/);
      assert.equal(code, 1, stderr);
    });
  }

  it('upstream leg is TLS: the server sees an SSL session from the gateway', async () => {
    const out = await psqlOk({
      conninfo: env.conninfo(),
      sql: 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
    });
    assert.equal(out, 't');
  });

  it('authenticates scram-sha-256 with the default channel_binding=prefer', async () => {
    const out = await psqlOk({
      conninfo: env.conninfo('user=scram_user'),
      env: { PGPASSWORD: 'scram-secret' },
      sql: 'SELECT current_user',
    });
    assert.equal(out, 'scram_user');
  });

  it("refuses a wrong scram password with PostgreSQL's error", async () => {
    const result = await runPsql({
      conninfo: env.conninfo('user=scram_user'),
      env: { PGPASSWORD: 'wrong' },
    });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /password authentication failed for user "scram_user"/);
  });

  it("channel_binding=require succeeds, bound to the gateway's certificate", async () => {
    const out = await psqlOk({
      conninfo: env.conninfo('user=scram_user channel_binding=require'),
      env: { PGPASSWORD: 'scram-secret' },
      sql: 'SELECT current_user',
    });
    assert.equal(out, 'scram_user');
  });

  it('passes password and md5 authentication through', async () => {
    assert.equal(
      await psqlOk({
        conninfo: env.conninfo('user=pw_user'),
        env: { PGPASSWORD: 'pw-secret' },
        sql: 'SELECT current_user',
      }),
      'pw_user',
    );
    assert.equal(
      await psqlOk({
        conninfo: env.conninfo('user=md5_user'),
        env: { PGPASSWORD: 'md5-secret' },
        sql: 'SELECT current_user',
      }),
      'md5_user',
    );
  });

  it('serves a Node client (node-postgres) with full verification', async () => {
    const client = new pg.Client({
      host: 'localhost',
      port: env.port,
      user: 'scram_user',
      password: 'scram-secret',
      database: 'postgres',
      ssl: { ca: readFileSync(pki.caBundle), servername: 'localhost', rejectUnauthorized: true },
    });
    await client.connect();
    try {
      const result = await client.query('SELECT $1::int + 1 AS n', [41]);
      assert.equal(result.rows[0].n, 42);
    } finally {
      await client.end();
    }
  });
});
