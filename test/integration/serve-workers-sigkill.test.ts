// Connections opened in a loop while a worker is killed with SIGKILL each end with a definite
// result while the gateway runs: an answer, or a close (the killed worker's own connections).
// None is handed to the dead worker and left hanging: node:cluster's round-robin hand-off used
// to forget such a connection, which then waited in CLOSE-WAIT until the gateway exited.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { encodeSslRequest } from '../../src/protocol/frontend.js';
import {
  allWorkersServe,
  childPids,
  startWorkersGateway,
  type WorkersGateway,
  waitForStatus,
} from '../helpers/worker-status.js';

const WORKERS = 2;

describe('serve: connections across a SIGKILL of a worker', () => {
  let gateway: WorkersGateway;
  before(async () => {
    gateway = await startWorkersGateway(WORKERS);
  });
  after(async () => {
    await gateway?.env.close();
  });

  it('answers every connection; none hangs', async () => {
    const { env, adminPort } = gateway;
    let stopping = false;
    /** SSLRequest; resolves when the connection ends: answered, closed, or left hanging. */
    const open = () =>
      new Promise<'answered' | 'closed' | 'hung'>((resolve) => {
        let replied = false;
        const socket: Socket = connect({ port: env.port, host: '127.0.0.1' }, () =>
          socket.write(encodeSslRequest()),
        );
        socket.once('data', () => {
          replied = true;
          socket.destroy();
        });
        socket.on('error', () => {});
        // Closed without an answer before the gateway was told to stop: a definite error. A
        // connection still open then was hanging: only the gateway's exit ends it.
        socket.once('close', () => resolve(replied ? 'answered' : stopping ? 'hung' : 'closed'));
      });
    const results: Array<Promise<'answered' | 'closed' | 'hung'>> = [];
    for (let round = 0; round < 3; round++) {
      await waitForStatus(adminPort, allWorkersServe(WORKERS));
      const [victim] = await childPids(env.gateway.child.pid ?? 0);
      for (let i = 0; i < 40; i++) {
        if (i === 20 && victim !== undefined) process.kill(victim, 'SIGKILL');
        results.push(open());
        await nextTurn();
      }
    }
    // During a smart shutdown the workers still answer every connection they hold (57P03 for
    // new ones), so a connection that ends unanswered from here on was hanging.
    await waitForStatus(adminPort, allWorkersServe(WORKERS));
    stopping = true;
    await env.gateway.stop('SIGTERM');
    const outcomes = await Promise.all(results);
    const count = (kind: string) => outcomes.filter((outcome) => outcome === kind).length;
    assert.equal(
      count('hung'),
      0,
      `${count('hung')} of ${outcomes.length} connections hung (${count('answered')} answered, ${count('closed')} closed)`,
    );
    assert.ok(count('answered') > outcomes.length / 2, `only ${count('answered')} answered`);
  });
});
