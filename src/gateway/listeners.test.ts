// The gateway's listeners over real loopback sockets: a failed accept (what libuv reports when
// the process is out of descriptors) is logged and the listener goes on accepting, for the
// listeners that make Sockets and for the main process's hand-off listeners alike.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
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

async function roundTrip(listener: OpenListener): Promise<string> {
  const { port } = listener.server.address() as { port: number };
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
      assert.equal(await roundTrip(listener), kind.reply);
    });
  }
});
