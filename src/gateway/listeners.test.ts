// The gateway's listeners over real loopback sockets: a failed accept (what libuv reports when
// the process is out of descriptors) is logged and the listener goes on accepting, for the
// listeners that make Sockets, the main process's hand-off listeners, and a socket inherited
// as systemd hands it over (in a child process given it as fd 3).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import type { Logger } from '../log.js';
import { type ConnectionHandle, socketFromHandle } from '../net/handle-passing.js';
import {
  closeListeners,
  type OpenListener,
  openHandOffListeners,
  openListeners,
} from './listeners.js';

function recordingLogger(lines: string[]): Logger {
  const logger: Logger = {
    debug() {},
    info() {},
    warn(_fields, message) {
      lines.push(message);
    },
    error(_fields, message) {
      lines.push(message);
    },
    child: () => logger,
  };
  return logger;
}

const spec = {
  listenAddresses: ['127.0.0.1'],
  port: 0,
  unixSocketDirectories: [],
  unixSocketPermissions: 0o777,
};

const EMFILE = -24;

/** What libuv does on a failed accept: the listening handle's callback with a negative status. */
function failAccept(listener: OpenListener): void {
  const handle = (listener.server as unknown as { _handle: { onconnection(status: number): void } })
    ._handle;
  handle.onconnection(EMFILE);
}

function portOf(server: Server): number {
  return (server.address() as { port: number }).port;
}

async function roundTrip(port: number): Promise<string> {
  const client = connect(port, '127.0.0.1');
  let received = '';
  client.setEncoding('utf8').on('data', (chunk: string) => {
    received += chunk;
  });
  await once(client, 'end');
  client.destroy();
  return received;
}

const kinds: Array<{
  name: string;
  reply: string;
  open(log: Logger): Promise<OpenListener[]>;
}> = [
  {
    name: 'Sockets',
    reply: 'served',
    open: (log) => openListeners(spec, (socket: Socket) => socket.end('served'), log),
  },
  {
    name: 'hand-off, bare handles',
    reply: 'handed',
    open: (log) =>
      openHandOffListeners(
        spec,
        (handle: ConnectionHandle) => socketFromHandle(handle).end('handed'),
        log,
      ),
  },
];

describe('gateway listeners', () => {
  const opened: OpenListener[][] = [];
  after(() => Promise.all(opened.map((listeners) => closeListeners(listeners))));

  for (const kind of kinds) {
    it(`log a failed accept and go on accepting (${kind.name})`, async () => {
      const lines: string[] = [];
      const listeners = await kind.open(recordingLogger(lines));
      opened.push(listeners);
      const [listener] = listeners as [OpenListener];
      failAccept(listener);
      assert.deepEqual(lines, ['could not accept a new connection']);
      assert.equal(await roundTrip(portOf(listener.server)), kind.reply);
    });
  }

  it('log a failed accept and go on accepting (inherited socket)', async () => {
    const inherited = createServer();
    inherited.listen(0, '127.0.0.1');
    await once(inherited, 'listening');
    const fd = (inherited as unknown as { _handle: { fd: number } })._handle.fd;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', inheritedListenerChild],
      { stdio: ['ignore', 'pipe', 'inherit', fd], cwd: new URL('../..', import.meta.url) },
    );
    const port = portOf(inherited);
    try {
      assert.ok(child.stdout);
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        output += chunk;
      });
      // The line it prints, or its exit if the failed accept ended it.
      await Promise.race([once(child.stdout, 'data'), once(child, 'exit')]);
      assert.deepEqual(JSON.parse(output || '[]'), ['could not accept a new connection']);
      // From now on only the child accepts on the socket.
      inherited.close();
      assert.equal(await roundTrip(port), 'inherited');
    } finally {
      child.kill();
    }
  });
});

/** Opens fd 3 as an inherited listener, fails one accept, prints what it logged, then serves. */
const inheritedListenerChild = `
import { openActivatedListeners } from ${JSON.stringify(new URL('./listeners.ts', import.meta.url).href)};
const lines = [];
const log = { debug() {}, info() {}, warn(_f, m) { lines.push(m); }, error(_f, m) { lines.push(m); }, child: () => log };
const [listener] = await openActivatedListeners([3], (socket) => socket.end('inherited'), log);
listener.server._handle.onconnection(${EMFILE});
process.stdout.write(JSON.stringify(lines) + '\\n');
`;
