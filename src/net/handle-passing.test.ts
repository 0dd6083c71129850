// Bare connection handles over real sockets and a real child process: accepted connections
// never become Sockets in the accepting process, a child that receives one talks to the client
// after the acceptor closed its own copy, and a failed accept is reported without closing the
// listener.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { acceptHandles, type ConnectionHandle, socketFromHandle } from './handle-passing.js';

const moduleUrl = new URL('./handle-passing.ts', import.meta.url).href;

/** A child that wraps each handle it is sent, says so, and answers `pong <pid>` to what it reads. */
const childSource = `
import { socketFromHandle } from ${JSON.stringify(moduleUrl)};
process.on('message', (message, handle) => {
  const socket = socketFromHandle(handle);
  process.send({ taken: message.id });
  socket.on('data', () => socket.end('pong ' + process.pid));
});
process.send('ready');
`;

async function startChild(): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', childSource],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
    },
  );
  const [first] = (await once(child, 'message')) as [unknown];
  assert.equal(first, 'ready');
  return child;
}

async function listen(server: Server, where: { port: 0; host: string } | { path: string }) {
  server.listen(where);
  await once(server, 'listening');
}

async function exchange(connectTo: () => Socket): Promise<string> {
  const client = connectTo();
  client.write('ping');
  let reply = '';
  client.setEncoding('utf8').on('data', (chunk: string) => {
    reply += chunk;
  });
  await once(client, 'close');
  return reply;
}

describe('acceptHandles and socketFromHandle', () => {
  const cleanups: Array<() => void> = [];
  after(() => {
    for (const cleanup of cleanups.reverse()) cleanup();
  });

  for (const transport of ['tcp', 'unix'] as const) {
    it(`passes ${transport} connections to another process as bare handles`, async () => {
      const child = await startChild();
      cleanups.push(() => child.kill());
      const server = createServer();
      cleanups.push(() => server.close());
      let socketsMade = 0;
      server.on('connection', () => socketsMade++);
      const dir = mkdtempSync(join(tmpdir(), 'pgtunnel-handles-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const path = join(dir, 'accept.sock');
      await listen(server, transport === 'tcp' ? { port: 0, host: '127.0.0.1' } : { path });

      const held = new Map<number, ConnectionHandle>();
      let nextId = 1;
      const closedHere: number[] = [];
      child.on('message', (message: { taken?: number }) => {
        const handle = message.taken === undefined ? undefined : held.get(message.taken);
        if (!handle || message.taken === undefined) return;
        held.delete(message.taken);
        handle.close();
        closedHere.push(message.taken);
      });
      acceptHandles(
        server,
        (handle) => {
          assert.equal(typeof (handle as unknown as { readStart?: unknown }).readStart, 'function');
          const id = nextId++;
          held.set(id, handle);
          child.send({ id }, handle as never, { keepOpen: true });
        },
        (error) => assert.fail(error),
      );

      const port = (server.address() as { port?: number }).port;
      const connectTo = () =>
        transport === 'tcp' ? tcpConnect(port ?? 0, '127.0.0.1') : tcpConnect({ path });
      const replies = [await exchange(connectTo), await exchange(connectTo)];
      assert.deepEqual(replies, [`pong ${child.pid}`, `pong ${child.pid}`]);
      assert.deepEqual(closedHere, [1, 2], 'the acceptor closed its copy of each handle');
      assert.equal(socketsMade, 0, "no 'connection' event: no Socket was made here");
    });
  }

  it('reports a failed accept and keeps listening', async () => {
    const server = createServer();
    cleanups.push(() => server.close());
    await listen(server, { port: 0, host: '127.0.0.1' });
    const errors: NodeJS.ErrnoException[] = [];
    const handles: ConnectionHandle[] = [];
    acceptHandles(
      server,
      (handle) => handles.push(handle),
      (error) => errors.push(error),
    );
    // What libuv reports when the process is out of descriptors.
    const EMFILE = -24;
    (server as unknown as { _handle: { onconnection(status: number): void } })._handle.onconnection(
      EMFILE,
    );
    assert.equal(errors[0]?.code, 'EMFILE');
    assert.equal(errors[0]?.syscall, 'accept');

    const client = tcpConnect((server.address() as { port: number }).port, '127.0.0.1');
    await once(client, 'connect');
    while (handles.length === 0) await new Promise((resolve) => setImmediate(resolve));
    const accepted = socketFromHandle(handles[0]);
    accepted.end('hello');
    let received = '';
    client.setEncoding('utf8').on('data', (chunk: string) => {
      received += chunk;
    });
    await once(client, 'end');
    client.destroy();
    assert.equal(received, 'hello');
  });

  it('refuses what is not a connection handle', () => {
    assert.throws(() => socketFromHandle(undefined), TypeError);
    assert.throws(() => socketFromHandle({ fd: 3 }), TypeError);
  });

  it('refuses a server that is not listening', () => {
    assert.throws(
      () =>
        acceptHandles(
          createServer(),
          () => {},
          () => {},
        ),
      /not listening/,
    );
  });
});
