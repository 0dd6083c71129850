// Thousands of TLS sessions through the gateway leave its memory where it was: nothing that
// belongs to a finished session (TLS state, sockets, buffers, session records) is kept. The
// JavaScript heap is capped so that retained objects cannot hide in a lazily collected heap;
// what the test watches is the resident size, which also counts OpenSSL's native memory.
// A soak: `npm run soak` runs it, apart from the main suite, with its own time limit.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { runPgbench } from '../helpers/clients.js';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';

const residentMiB = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const openFds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

describe('serve: memory over many sessions', () => {
  let env: GatewayEnv;
  before(async () => {
    env = await startGatewayEnv({
      cluster: { settings: { max_connections: '50' } },
      gatewayEnv: { NODE_OPTIONS: '--max-old-space-size=64' },
    });
    const init = await runPgbench({ conninfo: env.conninfo(), args: ['-i', '-s', '1', '-q'] });
    assert.equal(init.code, 0, init.stderr);
  });
  after(async () => {
    await env?.close();
  });

  // pgbench -C: a new TLS connection, startup, authentication and relay for every transaction.
  const sessions = async (perClient: number) => {
    const result = await runPgbench({
      conninfo: env.conninfo(),
      args: ['-S', '-n', '-C', '-c', '4', '-j', '2', '-t', String(perClient)],
      timeoutMs: 540_000, // the soak's own time limit (scripts/run-tests.sh soak) comes first
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(`number of transactions actually processed: ${4 * perClient}/`),
    );
  };

  it('keeps resident memory flat across 4,000 sessions once warmed up', async () => {
    const pid = env.gateway.child.pid ?? 0;
    // Warm up until the heap and allocator pools are at their working size (it takes about
    // a thousand sessions), so that growth after this point is what sessions leave behind.
    await sessions(300);
    await delay(500);
    const warm = residentMiB(pid);
    const warmFds = openFds(pid);
    await sessions(1000);
    await delay(500);
    const grown = residentMiB(pid) - warm;
    // A session that left its TLS socket behind would cost tens of kB: 2,000 of them, far more
    // than this bound.
    assert.ok(grown < 10, `resident memory grew by ${grown.toFixed(1)} MiB over 4,000 sessions`);
    assert.ok(openFds(pid) <= warmFds, 'file descriptors left open');
  });
});
