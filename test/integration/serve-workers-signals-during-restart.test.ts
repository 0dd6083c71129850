// Signals that arrive while a killed worker is being replaced are applied to the new worker
// too: a SIGHUP reloads every worker (and later reloads still work), a SIGTERM ends them all.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { afterEach, describe, it } from 'node:test';
import {
  allWorkersServe,
  childPids,
  fetchStatus,
  isAlive,
  killAndCatchReplacement,
  servedSerials,
  startWorkersGateway,
  type WorkersGateway,
  waitForStatus,
} from '../helpers/worker-status.js';

const WORKERS = 2;

describe('serve: signals while a worker is being replaced', () => {
  let gateway: WorkersGateway | undefined;
  afterEach(async () => {
    await gateway?.env.close();
    gateway = undefined;
  });

  it('applies a SIGHUP sent while a killed worker is replaced, and later ones too', async () => {
    gateway = await startWorkersGateway(WORKERS);
    const { env, adminPort } = gateway;
    for (const round of [1, 2]) {
      const fresh = await env.pki.otherServer({ cn: 'localhost', sans: ['DNS:localhost'] });
      copyFileSync(fresh.key, gateway.keyFile);
      copyFileSync(fresh.cert, gateway.certFile);
      const before = await fetchStatus(adminPort);
      const replacement = await killAndCatchReplacement(env.gateway.child.pid ?? 0);
      env.gateway.child.kill('SIGHUP');
      const after = await waitForStatus(
        adminPort,
        (status) =>
          allWorkersServe(WORKERS)(status) &&
          status.generation > before.generation &&
          (status.worker_processes ?? []).some((worker) => worker.pid === replacement),
      );
      assert.equal(after.last_reload?.ok, true, `round ${round}: ${after.last_reload?.error}`);
      const expected = new X509Certificate(readFileSync(fresh.cert)).serialNumber;
      assert.deepEqual(await servedSerials(env, 3 * WORKERS), [expected], `round ${round}`);
    }
  });

  it('completes a SIGTERM sent while a killed worker is replaced', async () => {
    gateway = await startWorkersGateway(WORKERS, { serveArgs: ['--shutdown-timeout', '1s'] });
    const { env } = gateway;
    const primary = env.gateway.child.pid ?? 0;
    const workers = await childPids(primary);
    const replacement = await killAndCatchReplacement(primary);
    env.gateway.child.kill('SIGTERM');
    const exit = await env.gateway.exited;
    assert.equal(exit.code, 0, env.gateway.output());
    for (const pid of [...workers, replacement])
      assert.equal(isAlive(pid), false, `worker ${pid} outlived the shutdown`);
  });
});
