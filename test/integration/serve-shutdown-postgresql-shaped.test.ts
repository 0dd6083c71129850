// Shutdown as PostgreSQL does it, in one process and with workers: during a smart shutdown a
// new client is told "the database system is shutting down" (57P03) instead of being refused
// by the operating system, and a session still open at shutdown_timeout is told "terminating
// connection due to administrator command" (57P01) before it is closed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { afterEach, describe, it } from 'node:test';
import pg from 'pg';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';

for (const workers of [1, 2]) {
  describe(`serve: a PostgreSQL-shaped shutdown with ${workers} worker(s)`, () => {
    let env: GatewayEnv | undefined;
    afterEach(async () => {
      await env?.close();
      env = undefined;
    });

    const client = (gateway: GatewayEnv) =>
      new pg.Client({
        host: 'localhost',
        port: gateway.port,
        user: 'postgres',
        database: 'postgres',
        ssl: { ca: readFileSync(gateway.pki.caBundle), servername: 'localhost' },
      });

    it('answers new clients with 57P03, then ends open sessions with 57P01', async () => {
      const gateway = await startGatewayEnv({
        serveArgs: ['--workers', String(workers), '--shutdown-timeout', '3s'],
      });
      env = gateway;
      const held = client(gateway);
      const ended = new Promise<Error & { code?: string }>((resolve) => held.on('error', resolve));
      await held.connect();
      assert.equal((await held.query('SELECT 1 AS one')).rows[0].one, 1);

      gateway.gateway.child.kill('SIGTERM');
      await gateway.gateway.waitForLog('waiting for sessions to finish');
      const late = client(gateway);
      late.on('error', () => {});
      const refused = await late.connect().then(
        () => undefined,
        (error: Error & { code?: string }) => error,
      );
      assert.equal(refused?.code, '57P03', String(refused));
      assert.equal(refused?.message, 'the database system is shutting down');

      const cut = await ended;
      assert.equal(cut.code, '57P01', String(cut));
      assert.equal(cut.message, 'terminating connection due to administrator command');
      assert.equal((await gateway.gateway.exited).code, 0);
    });
  });
}
