// Opens the gateway's listening sockets the way PostgreSQL does: each entry of
// listen_addresses (`*` = every IPv4 and IPv6 address, `localhost` = its loopback addresses),
// and `.s.PGSQL.<port>` in each unix_socket_directories entry. One failed address is a
// warning while another succeeds; none at all is an error.
import { lookup } from 'node:dns/promises';
import { createServer, type Server, type Socket } from 'node:net';
import type { Settings } from '../config/settings.js';
import { describeError, PgTunnelError } from '../errors.js';
import type { Logger } from '../log.js';
import { formatSocketAddress, postgresSocketPath, type SocketAddress } from '../net/address.js';
import { acceptHandles, type ConnectionHandle } from '../net/handle-passing.js';
import { describeBound, listenOn, listenOnFd, removeSocketFile } from '../net/listen.js';

export interface ListenSpec {
  listenAddresses: string[];
  port: number;
  unixSocketDirectories: string[];
  unixSocketPermissions: number;
}

/** Where the gateway listens: listen_addresses, port and the unix socket settings. */
export function gatewayListenSpec(settings: Settings): ListenSpec {
  return {
    listenAddresses: settings.listen_addresses,
    port: settings.port,
    unixSocketDirectories: settings.unix_socket_directories,
    unixSocketPermissions: settings.unix_socket_permissions,
  };
}

export interface OpenListener {
  server: Server;
  transport: 'tcp' | 'local';
  /** e.g. `127.0.0.1:6432` or `/tmp/.s.PGSQL.6432`. */
  description: string;
  /** The socket file this process created, removed again when it closes. */
  socketPath?: string;
}

export type ConnectionHandler = (socket: Socket, transport: 'tcp' | 'local') => void;
export type HandleHandler = (handle: ConnectionHandle, transport: 'tcp' | 'local') => void;

/** Listens on the configured addresses; each accepted connection goes to `onConnection`. */
export function openListeners(
  spec: ListenSpec,
  onConnection: ConnectionHandler,
  log: Logger,
): Promise<OpenListener[]> {
  return openEach(spec, log, (transport) => {
    const server = createServer({ noDelay: true }, (socket) => onConnection(socket, transport));
    return { server, listening: () => logAcceptFailures(server, log) };
  });
}

/**
 * For a server that listens: a failed accept (EMFILE, ENFILE) is an 'error' on the server,
 * which with no listener would end the process. PostgreSQL's postmaster logs it and goes on
 * accepting. (Not before listening: a bind error is the caller's to report.)
 */
function logAcceptFailures(server: Server, log: Logger): void {
  server.on('error', (error) => logAcceptFailure(log, error));
}

function logAcceptFailure(log: Logger, error: Error): void {
  log.warn({ err: describeError(error) }, 'could not accept a new connection');
}

/**
 * For a process that hands every connection to another one (the primary of several workers):
 * accepted connections stay bare handles, unread, and go to `onHandle`.
 */
export function openHandOffListeners(
  spec: ListenSpec,
  onHandle: HandleHandler,
  log: Logger,
): Promise<OpenListener[]> {
  return openEach(spec, log, (transport) => {
    const server = createServer();
    return {
      server,
      listening: () =>
        acceptHandles(
          server,
          (handle) => onHandle(handle, transport),
          (error) => logAcceptFailure(log, error),
        ),
    };
  });
}

async function openEach(
  spec: ListenSpec,
  log: Logger,
  serverFor: (transport: 'tcp' | 'local') => { server: Server; listening: () => void },
): Promise<OpenListener[]> {
  const listeners: OpenListener[] = [];
  const failures: string[] = [];
  const open = async (address: SocketAddress, transport: 'tcp' | 'local', description: string) => {
    const { server, listening } = serverFor(transport);
    try {
      await listenOn(server, address, { unixSocketMode: spec.unixSocketPermissions });
      listening();
      listeners.push({
        server,
        transport,
        description,
        ...(address.kind === 'unix' ? { socketPath: address.path } : {}),
      });
    } catch (error) {
      failures.push(`${description}: ${describeError(error)}`);
      log.warn(
        { address: description, err: describeError(error) },
        transport === 'tcp' ? 'could not create listen socket' : 'could not create unix socket',
      );
    }
  };
  for (const host of await expandAddresses(spec.listenAddresses)) {
    const description = formatSocketAddress({ kind: 'tcp', host, port: spec.port });
    await open({ kind: 'tcp', host, port: spec.port }, 'tcp', description);
  }
  for (const dir of spec.unixSocketDirectories) {
    const path = postgresSocketPath(dir, spec.port);
    await open({ kind: 'unix', path }, 'local', path);
  }
  if (listeners.length === 0) {
    throw new PgTunnelError(
      'ERR_LISTEN',
      `could not open any listening socket (${failures.join('; ')}): check listen_addresses, port and unix_socket_directories`,
    );
  }
  return listeners;
}

/**
 * Listening sockets inherited from systemd (socket activation) in place of the configured
 * addresses; each is TCP or unix as systemd created it.
 */
export async function openActivatedListeners(
  fds: number[],
  onConnection: ConnectionHandler,
  log: Logger,
): Promise<OpenListener[]> {
  const listeners: OpenListener[] = [];
  for (const fd of fds) {
    let transport: 'tcp' | 'local' = 'tcp';
    const server = createServer({ noDelay: true }, (socket) => onConnection(socket, transport));
    await listenOnFd(server, fd);
    logAcceptFailures(server, log);
    transport = typeof server.address() === 'string' ? 'local' : 'tcp';
    listeners.push({ server, transport, description: describeBound(server, undefined, fd) });
  }
  return listeners;
}

/** Expands `*` and host names to addresses, like PostgreSQL's StreamServerPort callers. */
async function expandAddresses(entries: string[]): Promise<string[]> {
  const addresses: string[] = [];
  for (const entry of entries) {
    if (entry === '*') {
      addresses.push('0.0.0.0', '::');
      continue;
    }
    try {
      const found = await lookup(entry, { all: true });
      for (const { address } of found) if (!addresses.includes(address)) addresses.push(address);
    } catch (error) {
      throw new PgTunnelError(
        'ERR_LISTEN',
        `could not resolve listen address "${entry}": ${describeError(error)}`,
      );
    }
  }
  return addresses;
}

/** Each listener's close, so that closing it again waits for the same end. */
const closing = new WeakMap<OpenListener, Promise<void>>();

/**
 * Stops accepting and removes the socket files these listeners created. Resolves once their
 * connections are gone (at once for hand-off listeners, which keep none). Idempotent: a second
 * call waits for the first close instead of for a 'close' event that has already been emitted.
 */
export function closeListeners(listeners: OpenListener[]): Promise<void> {
  return Promise.all(
    listeners.map((listener) => {
      let closed = closing.get(listener);
      if (!closed) {
        closed = new Promise<void>((resolve) => {
          listener.server.close(() => resolve());
          // close() waits for open connections; the file must go now, as PostgreSQL's does.
          if (listener.socketPath) removeSocketFile({ kind: 'unix', path: listener.socketPath });
        });
        closing.set(listener, closed);
      }
      return closed;
    }),
  ).then(() => undefined);
}
