import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { readUntil, StreamEndedError } from './read-bytes.js';

/** The server's side of a connection whose client sends `bytes` and its FIN at once. */
async function serverSideOfShortClient(
  bytes: Buffer,
): Promise<{ socket: Socket; done: () => void }> {
  const server = createServer({ allowHalfOpen: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const accepted = once(server, 'connection');
  const client = connect({ port: address.port, host: '127.0.0.1', allowHalfOpen: true });
  client.end(bytes);
  const [socket] = (await accepted) as [Socket];
  return {
    socket,
    done: () => {
      socket.destroy();
      client.destroy();
      server.close();
    },
  };
}

describe('readUntil', () => {
  it('resolves with what arrived once enough is there', async () => {
    const { socket, done } = await serverSideOfShortClient(Buffer.from('abc'));
    try {
      const bytes = await readUntil(socket, (received) => received.length >= 3);
      assert.equal(bytes.toString(), 'abc');
    } finally {
      done();
    }
  });

  it('rejects at once when the stream ended while an earlier read had it paused', async () => {
    const { socket, done } = await serverSideOfShortClient(Buffer.from('abc'));
    try {
      await readUntil(socket, () => true);
      // The FIN came with the bytes: its 'end' may already be gone by now.
      await new Promise<void>((resolve) => socket.once('end', resolve).resume());
      socket.pause();
      await assert.rejects(
        readUntil(socket, () => true),
        StreamEndedError,
      );
    } finally {
      done();
    }
  });
});
