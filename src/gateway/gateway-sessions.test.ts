// The gateway's sessions over real socket pairs: what max_connections and
// max_startup_connections count, and how a shutdown ends them (57P01 to a relaying client at a
// message boundary, a plain close otherwise).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { decodeErrorFields } from '../protocol/backend-error.js';
import { GatewaySessions } from './gateway-sessions.js';

describe('GatewaySessions', () => {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  after(() => {
    for (const socket of sockets) socket.destroy();
    for (const server of servers) server.close();
  });

  /** A connected pair of sockets: [the peer's side, the gateway's side]. */
  async function pair(): Promise<[Socket, Socket]> {
    const server = createServer();
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const accepted = once(server, 'connection');
    const peer = connect((server.address() as { port: number }).port, '127.0.0.1');
    peer.on('error', () => {});
    const [[socket]] = (await Promise.all([accepted, once(peer, 'connect')])) as [
      [Socket],
      unknown,
    ];
    sockets.push(peer, socket);
    return [peer, socket];
  }

  it('counts admitted sessions against max_connections until they close', async () => {
    const sessions = new GatewaySessions();
    const [, a] = await pair();
    const [, b] = await pair();
    const first = sessions.open(a, 'tcp');
    const second = sessions.open(b, 'tcp');
    assert.equal(sessions.admit(first, 1), true);
    assert.equal(sessions.admit(second, 1), false, 'the second is one too many');
    sessions.close(first);
    assert.equal(sessions.admit(second, 1), true, 'a closed session frees its place');
    assert.deepEqual(
      sessions.list().map((record) => record.id),
      [second.id],
    );
    sessions.close(second);
    sessions.close(second);
    assert.equal(sessions.size, 0);
    assert.equal(sessions.admit(sessions.open((await pair())[1], 'tcp'), 1), true);
  });

  it('makes a dead end of a startup beyond max_startup_connections, and closes the oldest one', async () => {
    const sessions = new GatewaySessions();
    // As connections arrive: each is opened, then the limit (1) applies to it.
    const arrive = async () => {
      const record = sessions.open((await pair())[1], 'tcp');
      return { record, verdict: sessions.applyStartupLimit(record, 1) };
    };
    const a = await arrive();
    const b = await arrive();
    assert.equal(a.verdict, 'proceed');
    assert.equal(b.verdict, 'dead-end');
    const c = await arrive();
    assert.equal(c.verdict, 'dead-end');
    // More dead ends than the limit: the oldest one (b) was closed.
    assert.deepEqual(
      sessions.list().map((r) => r.id),
      [a.record.id, c.record.id],
    );
    assert.equal(sessions.starting, 2);
    sessions.started(a.record);
    assert.equal(sessions.starting, 1, 'an authenticated session no longer counts as starting');
    const d = await arrive();
    assert.equal(d.verdict, 'proceed', 'a dead end holds no startup place: a frees it for d');
  });

  it('ends a relaying session with 57P01 at a message boundary, others with a close', async () => {
    const sessions = new GatewaySessions();
    const [client, clientSide] = await pair();
    const [, upstreamSide] = await pair();
    const relaying = sessions.open(clientSide, 'tcp');
    sessions.relaying(relaying, clientSide, upstreamSide, Buffer.from('Z\0\0\0\x05I'));
    const [idle, idleSide] = await pair();
    sessions.open(idleSide, 'tcp');

    const received: Buffer[] = [];
    client.on('data', (chunk: Buffer) => received.push(chunk));
    const closed = Promise.all([once(client, 'close'), once(idle, 'close')]);
    const drained = sessions.drain(60_000);
    const ended = await sessions.terminateAll();
    assert.equal(ended, 2);
    assert.deepEqual(await drained, { closedByForce: 0 });
    await closed;
    const bytes = Buffer.concat(received);
    assert.equal(String.fromCharCode(bytes[0] ?? 0), 'E');
    const fields = decodeErrorFields(bytes.subarray(5));
    assert.equal(fields.get('C'), '57P01');
    assert.equal(fields.get('M'), 'terminating connection due to administrator command');
    assert.equal(sessions.size, 0);
  });
});
