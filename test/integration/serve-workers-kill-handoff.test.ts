// Connections opened in a loop while a worker is killed with SIGKILL each get an answer from
// the gateway: none is handed to the dead worker and left hanging (node:cluster's round-robin
// hand-off used to forget such a connection, which then waited for ever in CLOSE-WAIT).
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
    /** SSLRequest; resolves when the connection ends, saying whether the gateway answered. */
    const open = () =>
      new Promise<{ replied: boolean }>((resolve) => {
        let replied = false;
        const socket: Socket = connect({ port: env.port, host: '127.0.0.1' }, () =>
          socket.write(encodeSslRequest()),
        );
        socket.once('data', () => {
          replied = true;
          socket.destroy();
        });
        socket.on('error', () => {});
        socket.once('close', () => resolve({ replied }));
      });
    const results: Array<Promise<{ replied: boolean }>> = [];
    for (let round = 0; round < 3; round++) {
      await waitForStatus(adminPort, allWorkersServe(WORKERS));
      const [victim] = await childPids(env.gateway.child.pid ?? 0);
      for (let i = 0; i < 40; i++) {
        if (i === 20 && victim !== undefined) process.kill(victim, 'SIGKILL');
        results.push(open());
        await nextTurn();
      }
    }
    // Ending the gateway ends every connection; one that was never answered shows up here.
    await waitForStatus(adminPort, allWorkersServe(WORKERS));
    await env.gateway.stop('SIGTERM');
    const outcomes = await Promise.all(results);
    const unanswered = outcomes.filter((outcome) => !outcome.replied).length;
    assert.equal(unanswered, 0, `${unanswered} of ${outcomes.length} connections got no answer`);
  });
});
