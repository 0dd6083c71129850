// SessionSet over real socket pairs: sessions leave when their work ends, drain waits for
// them (or reports a timeout), closeAll ends both sides of each.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { SessionSet } from './session-set.js';

describe('SessionSet', () => {
  const servers: Server[] = [];
  after(() => {
    for (const server of servers) server.close();
  });

  /** A connected pair of sockets: [client side, server side]. */
  async function pair(): Promise<[Socket, Socket]> {
    const server = createServer();
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const accepted = once(server, 'connection');
    const client = connect((server.address() as { port: number }).port, '127.0.0.1');
    const [socket] = (await accepted) as [Socket];
    await once(client, 'connect').catch(() => {});
    return [client, socket];
  }

  it('drains once every session has ended', async () => {
    const sessions = new SessionSet();
    const [client] = await pair();
    let finish = () => {};
    sessions.run(
      client,
      () =>
        new Promise<void>((resolve) => {
          finish = resolve;
        }),
      () => {},
    );
    assert.equal(sessions.size, 1);
    assert.equal(await sessions.drain(50), false, 'a running session holds the drain');
    finish();
    assert.equal(await sessions.drain(), true);
    assert.equal(sessions.size, 0);
    client.destroy();
  });

  it('closeAll destroys the client and the attached upstream', async () => {
    const sessions = new SessionSet();
    const [client, clientPeer] = await pair();
    const [upstream, upstreamPeer] = await pair();
    sessions.run(
      client,
      async (attach) => {
        attach(upstream);
        await once(client, 'close');
      },
      () => {},
    );
    const closed = Promise.all([once(clientPeer, 'close'), once(upstreamPeer, 'close')]);
    sessions.closeAll();
    await closed;
    assert.equal(await sessions.drain(), true);
  });

  it('reports a failed session and destroys its client', async () => {
    const sessions = new SessionSet();
    const [client] = await pair();
    const errors: unknown[] = [];
    sessions.run(
      client,
      async () => Promise.reject(new Error('boom')),
      (e) => errors.push(e),
    );
    assert.equal(await sessions.drain(), true);
    assert.equal((errors[0] as Error).message, 'boom');
    assert.equal(client.destroyed, true);
  });
});

describe('SessionSet with its own records and end policy (the gateway)', () => {
  interface Record {
    id: number;
    ended: boolean;
  }

  it('lists records oldest first, and closeAll ends each through the policy', async () => {
    const ended: number[] = [];
    const sessions: SessionSet<Record> = new SessionSet<Record>(async (record) => {
      await new Promise((resolve) => setImmediate(resolve));
      record.ended = true;
      ended.push(record.id);
      sessions.delete(record);
    });
    const first = sessions.add({ id: 1, ended: false });
    sessions.add({ id: 2, ended: false });
    assert.deepEqual(
      sessions.list().map((r) => r.id),
      [1, 2],
    );
    assert.equal(sessions.has(first), true);
    const drained = sessions.drain();
    assert.equal(await sessions.closeAll(), 2);
    assert.deepEqual(ended.sort(), [1, 2]);
    assert.equal(await drained, true, 'drain resolves once the last session left');
    assert.equal(sessions.size, 0);
    assert.equal(sessions.delete(first), false, 'a session leaves once');
  });

  it('drain with a limit reports false while a session stays, and stops waiting for it', async () => {
    const sessions = new SessionSet<Record>(() => {});
    const record = sessions.add({ id: 1, ended: false });
    assert.equal(await sessions.drain(1), false);
    const later = sessions.drain();
    sessions.delete(record);
    assert.equal(await later, true);
  });
});
