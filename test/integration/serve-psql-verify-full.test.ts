// psql and pgbench (libpq) reach PostgreSQL 15 and 18 through `pgtunnel serve` with
// sslmode=verify-full, over SSLRequest and over PostgreSQL 17+ direct TLS.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { psqlOk, runPgbench, runPsql } from '../helpers/clients.js';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';

for (const flavor of ['system', 'embedded'] as const) {
  describe(`serve in front of PostgreSQL (${flavor === 'system' ? '15, Debian' : '18, npm'})`, () => {
    let env: GatewayEnv;
    before(async () => {
      env = await startGatewayEnv({ cluster: { flavor } });
    });
    after(async () => {
      await env?.close();
    });

    it('serves psql with sslmode=verify-full and reports the TLS session', async () => {
      const out = await psqlOk({
        conninfo: env.conninfo(),
        args: ['-X', '-c', '\\conninfo', '-c', 'SELECT current_user'],
      });
      assert.match(out, /SSL connection \(protocol: TLSv1\.3/);
      assert.match(out, /postgres/);
      const version = await psqlOk({ conninfo: env.conninfo(), sql: 'SHOW server_version_num' });
      assert.equal(version.slice(0, 2), flavor === 'system' ? '15' : '18');
    });

    it('serves libpq 18 with sslnegotiation=direct (ALPN postgresql)', async () => {
      const out = await psqlOk({
        conninfo: env.conninfo('sslnegotiation=direct'),
        libpq: '18',
        args: ['-X', '-c', '\\conninfo'],
      });
      assert.match(out, /SSL connection \(protocol: TLSv1\.3/);
    });

    it('runs pgbench select-only through the gateway', async () => {
      const init = await runPgbench({ conninfo: env.conninfo(), args: ['-i', '-s', '1', '-q'] });
      assert.equal(init.code, 0, init.stderr);
      const bench = await runPgbench({
        conninfo: env.conninfo(),
        args: ['-S', '-c', '4', '-j', '2', '-t', '200', '-n'],
      });
      assert.equal(bench.code, 0, bench.stderr);
      assert.match(bench.stdout, /number of transactions actually processed: 800\/800/);
    });

    it("refuses plaintext TCP under the built-in rules with PostgreSQL's hba error", async () => {
      const result = await runPsql({
        conninfo: `host=127.0.0.1 port=${env.port} user=postgres dbname=postgres sslmode=disable`,
      });
      assert.notEqual(result.code, 0);
      assert.match(
        result.stderr,
        /FATAL: {2}no pg_hba\.conf entry for host "127\.0\.0\.1", user "postgres", database "postgres", no encryption/,
      );
    });
  });
}
