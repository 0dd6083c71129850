// max_connections answers like PostgreSQL ("sorry, too many clients already", 53300);
// SIGTERM stops accepting and lets open sessions finish (up to shutdown_timeout); SIGINT
// closes them at once (57P01); SIGQUIT cuts them without a word and exits 1.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { psqlOk, runPsql } from '../helpers/clients.js';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';

function nodeClient(env: GatewayEnv): pg.Client {
  const client = new pg.Client({
    host: 'localhost',
    port: env.port,
    user: 'postgres',
    database: 'postgres',
    ssl: { ca: readFileSync(env.pki.caBundle), servername: 'localhost' },
  });
  client.on('error', () => {});
  return client;
}

describe('serve: limits and shutdown', () => {
  let env: GatewayEnv;
  before(async () => {
    env = await startGatewayEnv({
      // Long enough that the steps a test takes inside the smart shutdown (a query, a refused
      // psql) fit in it even on a busy machine; the tests wait for events, never for it.
      serveArgs: ['--max-connections', '2', '--shutdown-timeout', '6s'],
    });
  });
  after(async () => {
    await env?.close();
  });

  it('refuses the connection beyond max_connections with 53300, then admits again', async () => {
    const held = [nodeClient(env), nodeClient(env)];
    await Promise.all(held.map((c) => c.connect()));
    try {
      const refused = await runPsql({ conninfo: env.conninfo() });
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /FATAL: {2}sorry, too many clients already/);
    } finally {
      await held[0]?.end();
    }
    assert.equal(await psqlOk({ conninfo: env.conninfo(), sql: 'SELECT 1' }), '1');
    await held[1]?.end();
  });

  it('SIGTERM: stops accepting, lets an open session finish, then exits 0', async () => {
    const client = nodeClient(env);
    await client.connect();
    env.gateway.child.kill('SIGTERM');
    await env.gateway.waitForLog('waiting for sessions to finish');
    const refused = await runPsql({ conninfo: env.conninfo() });
    assert.notEqual(refused.code, 0, 'a new connection must be refused during shutdown');
    const result = await client.query('SELECT 7 AS n');
    assert.equal(result.rows[0].n, 7);
    await client.end();
    const exit = await env.gateway.exited;
    assert.equal(exit.code, 0);
    await env.restart();
  });

  it('SIGTERM: closes sessions still open after shutdown_timeout', async () => {
    const client = nodeClient(env);
    await client.connect();
    env.gateway.child.kill('SIGTERM');
    await env.gateway.waitForLog('waiting for sessions to finish');
    // The shutdown has begun and the session is still served: it is waited for, not closed.
    assert.equal((await client.query('SELECT 8 AS n')).rows[0].n, 8);
    const exit = await env.gateway.exited;
    assert.equal(exit.code, 0);
    // Then shutdown_timeout ran out and the gateway closed it, in that order.
    const messages = env.gateway.logs().map((r) => r.msg);
    const waiting = messages.indexOf('waiting for sessions to finish');
    const closed = messages.indexOf('closed sessions still open after shutdown_timeout');
    assert.ok(waiting >= 0 && closed > waiting, env.gateway.output());
    await assert.rejects(client.query('SELECT 1'));
    await env.restart();
  });

  it('SIGINT: closes open sessions at once', async () => {
    const client = nodeClient(env);
    await client.connect();
    env.gateway.child.kill('SIGINT');
    const exit = await env.gateway.exited;
    assert.equal(exit.code, 0);
    // At once: the session was terminated, not waited for until shutdown_timeout.
    const messages = env.gateway.logs().map((r) => r.msg);
    assert.ok(messages.includes('terminating sessions (fast shutdown)'), env.gateway.output());
    assert.ok(!messages.includes('waiting for sessions to finish'), env.gateway.output());
    await assert.rejects(client.query('SELECT 1'));
    await env.restart();
  });

  it('SIGQUIT: immediate shutdown cuts sessions without a goodbye and exits 1', async () => {
    const client = nodeClient(env);
    const told: unknown[] = [];
    client.on('error', (error: Error & { code?: string }) => told.push(error.code));
    await client.connect();
    // A fast shutdown tells an idle session 57P01 (at a message boundary); an immediate one not.
    env.gateway.child.kill('SIGQUIT');
    const exit = await env.gateway.exited;
    assert.equal(exit.code, 1);
    const messages = env.gateway.logs().map((r) => r.msg);
    assert.ok(messages.includes('received immediate shutdown request'), env.gateway.output());
    assert.ok(!messages.includes('terminating sessions (fast shutdown)'), env.gateway.output());
    await assert.rejects(client.query('SELECT 1'));
    assert.ok(!told.includes('57P01'), `the client was told ${told.join(', ')}`);
    await env.restart();
  });
});
