// /ready, the readiness probe: 200 while the gateway takes new connections, 503 "stopping" as
// soon as a smart shutdown begins (while open sessions drain), so a Service or balancer stops
// sending new clients before the process exits.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';
import { cliArgs } from '../helpers/pgtunnel-process.js';
import { freePort } from '../helpers/ports.js';
import { run } from '../helpers/run.js';

describe('serve: /ready', () => {
  let env: GatewayEnv;
  let adminPort: number;
  const admin = (path: string) => fetch(`http://127.0.0.1:${adminPort}${path}`);

  before(async () => {
    adminPort = await freePort();
    env = await startGatewayEnv({ serveArgs: ['--admin-listen', `127.0.0.1:${adminPort}`] });
  });
  after(async () => {
    await env?.close();
  });

  it('is 200 "ready" while serving, and the exec probe passes', async () => {
    const ready = await admin('/ready');
    assert.equal(ready.status, 200);
    assert.equal(await ready.text(), 'ready\n');
    const probe = await run(
      process.execPath,
      cliArgs(['probe', `127.0.0.1:${env.port}`, '--ready', `127.0.0.1:${adminPort}`]),
    );
    assert.equal(probe.code, 0, probe.stderr);
  });

  it('the probe fails when nothing answers on the admin address', async () => {
    const probe = await run(
      process.execPath,
      cliArgs(['probe', `127.0.0.1:${env.port}`, '--ready', `127.0.0.1:${await freePort()}`]),
    );
    assert.equal(probe.code, 1);
    assert.match(probe.stderr, /could not ask http:\/\/127\.0\.0\.1:\d+\/ready: .*ECONNREFUSED/);
  });

  it('turns 503 "stopping" when SIGTERM starts draining, while a session still runs', async () => {
    const client = new pg.Client({
      host: 'localhost',
      port: env.port,
      user: 'postgres',
      database: 'postgres',
      ssl: { ca: readFileSync(env.pki.caBundle), servername: 'localhost' },
    });
    client.on('error', () => {});
    await client.connect();
    env.gateway.child.kill('SIGTERM');
    await env.gateway.waitForLog('waiting for sessions to finish');
    const ready = await admin('/ready');
    assert.equal(ready.status, 503);
    assert.equal(await ready.text(), 'stopping\n');
    // The exec readiness probe of deploy/kubernetes says the same.
    const probe = await run(
      process.execPath,
      cliArgs(['probe', `127.0.0.1:${env.port}`, '--ready', `127.0.0.1:${adminPort}`]),
    );
    assert.equal(probe.code, 1);
    assert.match(probe.stderr, /not ready: http:\/\/127\.0\.0\.1:\d+\/ready answered 503 stopping/);
    // The draining session still works.
    assert.equal((await client.query('SELECT 7 AS n')).rows[0].n, 7);
    await client.end();
    assert.equal((await env.gateway.exited).code, 0);
  });
});
