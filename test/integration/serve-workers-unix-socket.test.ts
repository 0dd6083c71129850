// With several workers the unix socket is one listener of the gateway, like its TCP ones: it
// is created once, at start, without a warning; every worker serves sessions on it; the
// ready line and /status list it; and a worker killed with SIGKILL never leaves it unserved.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { psqlOk } from '../helpers/clients.js';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';
import { freePort } from '../helpers/ports.js';
import { allWorkersServe, fetchStatus, waitForStatus } from '../helpers/worker-status.js';

describe('serve: the unix socket with 3 workers', () => {
  let env: GatewayEnv;
  let adminPort: number;
  let socketPath: string;
  const local = () =>
    `host=${env.dir} port=${env.port} user=postgres dbname=postgres sslmode=disable`;
  /** Pids of the processes that authorized the unix-socket sessions logged after `from`. */
  const localSessionPids = (from: number) =>
    new Set(
      env.gateway
        .logs()
        .slice(from)
        .filter((r) => r.msg === 'connection authorized' && r.client === '[local]')
        .map((r) => r.pid),
    );

  before(async () => {
    adminPort = await freePort();
    env = await startGatewayEnv({
      serveArgs: ['--workers', '3', '--admin-listen', `127.0.0.1:${adminPort}`],
      configFile: ({ dir }) => `unix_socket_directories = '${dir}'\nlog_connections = on\n`,
    });
    socketPath = `${env.dir}/.s.PGSQL.${env.port}`;
    await waitForStatus(adminPort, allWorkersServe(3));
  });
  after(async () => {
    await env?.close();
  });

  it('starts without a warning and lists the socket in the ready line and /status', async () => {
    const warnings = env.gateway.logs().filter((r) => Number(r.level) >= 40);
    assert.deepEqual(warnings, [], 'a healthy start logs no warning');
    const ready = await env.gateway.waitForLog('ready to accept connections');
    assert.ok((ready.addresses as string[]).includes(socketPath), JSON.stringify(ready));
    assert.ok((await fetchStatus(adminPort)).listen_addresses.includes(socketPath));
  });

  it('serves unix-socket sessions in every worker', async () => {
    // The workers take connections from the one socket as each is free, not in turn: open
    // sessions until every worker has served one (a worker left out never would).
    const from = env.gateway.logs().length;
    const workers = (await fetchStatus(adminPort)).worker_processes?.map((w) => w.pid) ?? [];
    for (let i = 0; i < 100 && localSessionPids(from).size < workers.length; i++) {
      assert.equal(await psqlOk({ conninfo: local() }), '1');
    }
    assert.deepEqual([...localSessionPids(from)].sort(), [...workers].sort());
  });

  it('keeps serving the socket right after the worker that served it is killed', async () => {
    const killed: number[] = [];
    for (let round = 0; round < 3; round++) {
      await waitForStatus(adminPort, allWorkersServe(3, killed));
      const from = env.gateway.logs().length;
      assert.equal(await psqlOk({ conninfo: local() }), '1');
      const [victim] = [...localSessionPids(from)] as number[];
      assert.ok(victim !== undefined);
      process.kill(victim, 'SIGKILL');
      killed.push(victim);
      // No pause: the connections race the primary noticing the death.
      for (let i = 0; i < 3; i++) assert.equal(await psqlOk({ conninfo: local() }), '1');
    }
    await waitForStatus(adminPort, allWorkersServe(3, killed));
  });
});
