// The byte pump over real loopback sockets: both directions, half-close, teardown on reset
// and idle timeout, with no socket left open.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { pump } from './pump.js';

/** A connected socket pair over loopback, both ends half-open capable. */
async function socketPair(servers: Server[]): Promise<[Socket, Socket]> {
  const server = createServer({ allowHalfOpen: true });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  await once(client, 'connect');
  const [serverSide] = await accepted;
  return [client, serverSide];
}

function readAll(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    socket.once('end', () => resolve(text));
  });
}

/** The far ends are half-open sockets: make them close once the pump's side has gone. */
function endOnEnd(socket: Socket): void {
  socket.resume();
  socket.once('end', () => socket.end());
}

describe('pump', () => {
  const servers: Server[] = [];
  after(() => {
    for (const server of servers) server.close();
  });

  it('copies both ways and passes a half-close through, then closes both', async () => {
    // client ⇄ [a | pump | b] ⇄ backend
    const [client, a] = await socketPair(servers);
    const [b, backend] = await socketPair(servers);
    const done = pump(a, b);
    const backendGot = readAll(backend);
    client.end('request');
    // the backend sees the client's FIN and can still answer afterwards
    assert.equal(await backendGot, 'request');
    const clientGot = readAll(client);
    backend.end('late answer after half-close');
    assert.equal(await clientGot, 'late answer after half-close');
    const result = await done;
    assert.equal(result.outcome, 'closed');
    assert.equal(result.bytesAtoB, 'request'.length);
    assert.equal(result.bytesBtoA, 'late answer after half-close'.length);
    assert.ok(a.destroyed && b.destroyed);
  });

  it('moves large payloads with backpressure intact', async () => {
    const [client, a] = await socketPair(servers);
    const [b, backend] = await socketPair(servers);
    const done = pump(a, b);
    const payload = Buffer.alloc(8 * 1024 * 1024, 7);
    let received = 0;
    backend.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    const ended = once(backend, 'end');
    client.end(payload);
    await ended;
    assert.equal(received, payload.length);
    backend.end();
    client.resume();
    await done;
  });

  it('destroys the other side when one side is reset', async () => {
    const [client, a] = await socketPair(servers);
    const [b, backend] = await socketPair(servers);
    const done = pump(a, b);
    backend.on('error', () => {});
    client.on('error', () => {});
    endOnEnd(backend);
    const backendClosed = once(backend, 'close');
    client.resetAndDestroy();
    const result = await done;
    await backendClosed;
    assert.equal(result.outcome, 'error');
    assert.ok(a.destroyed && b.destroyed);
  });

  it('tears both sides down after the idle timeout', async () => {
    const [client, a] = await socketPair(servers);
    const [b, backend] = await socketPair(servers);
    const clientClosed = once(client, 'close');
    const backendClosed = once(backend, 'close');
    endOnEnd(client);
    endOnEnd(backend);
    const result = await pump(a, b, { idleTimeoutMs: 100 });
    assert.equal(result.outcome, 'idle-timeout');
    await Promise.all([clientClosed, backendClosed]);
  });

  it('handles a side that is already closed', async () => {
    const [client, a] = await socketPair(servers);
    const [b, backend] = await socketPair(servers);
    a.destroy();
    await once(a, 'close');
    const backendClosed = once(backend, 'close');
    endOnEnd(backend);
    endOnEnd(client);
    await pump(a, b);
    await backendClosed;
    assert.ok(b.destroyed);
  });
});
