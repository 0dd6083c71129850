// The primary reads the files once per reload and sends every worker the same contents, so a
// certificate rewritten while a reload runs never leaves workers serving different ones: each
// reload is applied by every worker or by none.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  allWorkersServe,
  fetchStatus,
  servedSerials,
  startWorkersGateway,
  type WorkerStatus,
  type WorkersGateway,
  waitForStatus,
} from '../helpers/worker-status.js';

const WORKERS = 2;

describe('serve: a file rewritten during a reload', () => {
  let gateway: WorkersGateway;
  before(async () => {
    gateway = await startWorkersGateway(WORKERS);
  });
  after(async () => {
    await gateway?.env.close();
  });

  it('never leaves workers on different generations', async () => {
    const { env, adminPort } = gateway;
    const other = await env.pki.otherServer({ cn: 'localhost', sans: ['DNS:localhost'] });
    const pairs = [
      { cert: readFileSync(env.pki.serverCert), key: readFileSync(env.pki.serverKey) },
      { cert: readFileSync(other.cert), key: readFileSync(other.key) },
    ];
    let status: WorkerStatus = await fetchStatus(adminPort);
    for (let round = 0; round < 8; round++) {
      const pair = pairs[(round + 1) % 2] as { cert: Buffer; key: Buffer };
      const lastAt = status.last_reload?.at;
      env.gateway.child.kill('SIGHUP');
      // Rewritten in place, in pieces, while the reload reads them.
      writeFileSync(gateway.keyFile, pair.key);
      writeFileSync(gateway.certFile, pair.cert.subarray(0, pair.cert.length >> 1));
      await nextTurn();
      writeFileSync(gateway.certFile, pair.cert);
      status = await waitForStatus(
        adminPort,
        (s) =>
          s.state === 'listening' && s.last_reload?.at !== lastAt && allWorkersServe(WORKERS)(s),
      );
      const serials = await servedSerials(env, 3 * WORKERS);
      assert.equal(serials.length, 1, `round ${round}: workers serve ${serials.join(' and ')}`);
    }
  });
});
