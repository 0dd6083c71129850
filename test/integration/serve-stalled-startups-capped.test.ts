// Connections that stall before their StartupMessage (a slowloris) are capped by
// max_startup_connections, so a real client arriving behind 2,000 of them reads PostgreSQL's
// 53300 "sorry, too many clients already" instead of a bare close when descriptors run out. The
// gateway's open file limit is lowered below what 2,000 connections need (prlimit), as on a
// host with a default `ulimit -n`.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { runPsql } from '../helpers/clients.js';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';
import { openRaw } from '../helpers/raw-client.js';
import { run } from '../helpers/run.js';

const STALLED = 2000;
const OPEN_FILE_LIMIT = 1024;
const BATCH = 100;

describe('stalled pre-startup connections', () => {
  let env: GatewayEnv;
  const stalled: Socket[] = [];
  before(async () => {
    env = await startGatewayEnv({
      configFile: () => 'max_connections = 100\nmax_startup_connections = 250\n',
    });
    const pid = env.gateway.child.pid;
    assert.ok(pid !== undefined);
    const limited = await run('prlimit', [
      `--pid=${pid}`,
      `--nofile=${OPEN_FILE_LIMIT}:${OPEN_FILE_LIMIT}`,
    ]);
    assert.equal(limited.code, 0, limited.stderr);
  });
  after(async () => {
    for (const socket of stalled) socket.destroy();
    await env?.close();
  });

  it('leave a real client with 53300 "sorry, too many clients already", not a bare close', async () => {
    for (let opened = 0; opened < STALLED; opened += BATCH) {
      const batch = await Promise.all(Array.from({ length: BATCH }, () => openRaw(env.port)));
      for (const socket of batch) {
        socket.on('error', () => {});
        stalled.push(socket);
      }
    }
    const result = await runPsql({ conninfo: env.conninfo() });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /FATAL: {2}sorry, too many clients already/, result.stderr);
    // The limits fit the descriptors, so the gateway did not warn at start.
    assert.doesNotMatch(env.gateway.output(), /open file limit/);
  });

  it('let clients in again once the stalled connections leave', async () => {
    for (const socket of stalled.splice(0)) socket.destroy();
    // The gateway may still be reading the last closes when psql arrives: try again while it
    // still answers "too many clients".
    let result = await runPsql({ conninfo: env.conninfo(), sql: 'SELECT 42' });
    for (let attempt = 0; attempt < 20 && /too many clients/.test(result.stderr); attempt++) {
      result = await runPsql({ conninfo: env.conninfo(), sql: 'SELECT 42' });
    }
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), '42');
  });
});
