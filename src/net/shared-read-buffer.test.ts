// Sockets that read into the process's shared buffer, over real loopback sockets and TLS: as
// plain sockets before a relay takes them over, then relayed byte for byte to TLS and plaintext
// sockets at once, through a reader that stops; an idle TLS socket is handed views of the
// shared buffer, a plaintext socket (which could keep a reference) only copies.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  type Server as TlsServer,
  connect as tlsConnect,
  createServer as tlsCreateServer,
} from 'node:tls';
import { createTestPki, type TestPki } from '../../test/helpers/pki.js';
import { pump } from './pump.js';
import {
  connectWithSharedReadBuffer,
  isSharedReadBufferView,
  SHARED_READ_BYTES,
} from './shared-read-buffer.js';

const servers: Array<Server | TlsServer> = [];

async function listening<T extends Server | TlsServer>(server: T): Promise<number> {
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

/** A server that sends `data` to whoever connects, then ends; returns a socket reading it. */
async function sourceOf(data: Buffer): Promise<Socket> {
  const port = await listening(createServer((socket) => socket.end(data)));
  const socket = connectWithSharedReadBuffer({ port, host: '127.0.0.1', allowHalfOpen: true });
  await once(socket, 'connect');
  return socket;
}

/** The two ends of a loopback connection, TLS or not: [the relay's end, the reader's end]. */
async function destination(pki: TestPki | undefined): Promise<[Socket, Socket]> {
  const server = pki
    ? tlsCreateServer({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) })
    : createServer({ allowHalfOpen: true });
  const port = await listening(server);
  const accepted = once(server, pki ? 'secureConnection' : 'connection') as Promise<[Socket]>;
  const reader = pki
    ? tlsConnect({
        port,
        host: '127.0.0.1',
        ca: readFileSync(pki.caBundle),
        servername: 'localhost',
      })
    : tcpConnect({ port, host: '127.0.0.1' });
  await once(reader, pki ? 'secureConnect' : 'connect');
  const [relayEnd] = await accepted;
  return [relayEnd, reader];
}

/** Everything `socket` receives until it ends. */
async function received(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.resume();
  await once(socket, 'end');
  socket.end();
  return Buffer.concat(chunks);
}

/** Records every chunk written to `socket`, and whether a write was in flight or queued. */
function spyWrites(socket: Socket): Array<{ chunk: Buffer; busy: boolean }> {
  const written: Array<{ chunk: Buffer; busy: boolean }> = [];
  const write = socket.write.bind(socket) as (chunk: Buffer, ...rest: unknown[]) => boolean;
  socket.write = ((chunk: Buffer, ...rest: unknown[]) => {
    written.push({ chunk, busy: socket.writableLength > 0 || socket.writableCorked > 0 });
    return write(chunk, ...rest);
  }) as Socket['write'];
  return written;
}

const views = (written: Array<{ chunk: Buffer }>) =>
  written.filter(({ chunk }) => isSharedReadBufferView(chunk)).length;

describe('sockets reading into the shared read buffer', () => {
  let pki: TestPki;
  before(async () => {
    pki = await createTestPki();
  });
  after(async () => {
    for (const server of servers) server.close();
    await pki?.cleanup();
  });

  it('behave as any socket before a relay takes them over: each chunk is a copy of its own', async () => {
    const data = randomBytes(3 * SHARED_READ_BYTES + 1234);
    const socket = await sourceOf(data);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    await once(socket, 'end');
    socket.destroy();
    assert.ok(chunks.every((chunk) => !isSharedReadBufferView(chunk)));
    // Kept chunks were not overwritten by the reads after them.
    assert.ok(Buffer.concat(chunks).equals(data));
  });

  it('are relayed byte for byte to TLS and plaintext sockets at once, through readers that stop', async () => {
    const sessions = await Promise.all(
      [pki, undefined, pki].map(async (tls) => {
        // More than loopback's socket buffers hold, so that a stopped reader stops the relay.
        const data = randomBytes(64 * SHARED_READ_BYTES + 77);
        const [relayEnd, reader] = await destination(tls);
        reader.pause();
        const source = await sourceOf(data);
        const written = spyWrites(relayEnd);
        const done = pump(relayEnd, source);
        return { data, reader, source, written, done, tls: tls !== undefined };
      }),
    );
    // Backpressure: with the readers stopped, each relay stops reading its source.
    for (const [i, session] of sessions.entries()) {
      while (!session.source.isPaused() && !session.source.readableEnded) await delay(10);
      assert.ok(
        session.source.isPaused(),
        `session ${i}: the relay read all while its reader stood`,
      );
    }
    const results = await Promise.all(sessions.map((session) => received(session.reader)));
    for (const [i, session] of sessions.entries()) {
      assert.ok(results[i]?.equals(session.data), `session ${i}: the bytes arrived unchanged`);
      const result = await session.done;
      assert.equal(result.outcome, 'closed');
      assert.equal(result.bytesBtoA, session.data.length);
      if (session.tls) {
        // The fast path: an idle TLS socket encrypts the shared buffer's bytes as they are.
        assert.ok(views(session.written) > 0, `session ${i}: the TLS socket got no view`);
      } else {
        // A plaintext socket may keep what it is given until the kernel takes it: copies only.
        assert.equal(views(session.written), 0, `session ${i}: a plaintext socket got a view`);
      }
    }
  });

  it('give a TLS socket that still has a write in flight copies, not views', async () => {
    const [relayEnd, reader] = await destination(pki);
    reader.pause();
    // More than loopback buffers hold: this write stays in flight while the reader stands.
    const earlier = randomBytes(64 * SHARED_READ_BYTES);
    relayEnd.write(earlier);
    const data = randomBytes(4 * SHARED_READ_BYTES);
    const source = await sourceOf(data);
    const written = spyWrites(relayEnd);
    const done = pump(relayEnd, source);
    while (written.length === 0) await delay(10);
    assert.ok(relayEnd.writableLength > 0, 'the earlier write is still in flight');
    const got = await received(reader);
    await done;
    assert.ok(got.equals(Buffer.concat([earlier, data])));
    // node:tls queues what it is given while a write is in flight: a view would be overwritten.
    const whileBusy = written.filter(({ busy }) => busy);
    assert.ok(whileBusy.length > 0);
    assert.equal(views(whileBusy), 0);
  });

  it('hand the relay what they had read before it took them over, first', async () => {
    const data = randomBytes(2 * SHARED_READ_BYTES);
    const socket = await sourceOf(data);
    // Read (into the socket's own queue) before any relay: the stream is not flowing.
    while (socket.readableLength === 0) await delay(10);
    const [relayEnd, reader] = await destination(pki);
    const got = received(reader);
    await pump(relayEnd, socket);
    assert.ok((await got).equals(data));
  });
});
