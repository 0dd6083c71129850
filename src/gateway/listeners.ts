// Opens the gateway's listening sockets the way PostgreSQL does: each entry of
// listen_addresses (`*` = every IPv4 and IPv6 address, `localhost` = its loopback addresses),
// and `.s.PGSQL.<port>` in each unix_socket_directories entry. One failed address is a
// warning while another succeeds; none at all is an error.
import { lookup } from 'node:dns/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { describeError, PgTunnelError } from '../errors.js';
import type { Logger } from '../log.js';
import { postgresSocketPath, type SocketAddress } from '../net/address.js';
import { listenOn, listenOnFd, removeSocketFile } from '../net/listen.js';

export interface ListenSpec {
  listenAddresses: string[];
  port: number;
  unixSocketDirectories: string[];
  unixSocketPermissions: number;
  /**
   * Leave accepted connections unread, for a process that hands them to another one (the
   * primary of several workers); default false.
   */
  pauseOnConnect?: boolean;
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

export async function openListeners(
  spec: ListenSpec,
  onConnection: ConnectionHandler,
  log: Logger,
): Promise<OpenListener[]> {
  const listeners: OpenListener[] = [];
  const failures: string[] = [];
  const open = async (address: SocketAddress, transport: 'tcp' | 'local', description: string) => {
    const server = createServer(
      // A process that hands connections on leaves TCP_NODELAY to the one that serves them.
      { noDelay: spec.pauseOnConnect !== true, pauseOnConnect: spec.pauseOnConnect === true },
      (socket) => onConnection(socket, transport),
    );
    try {
      await listenOn(server, address, { unixSocketMode: spec.unixSocketPermissions });
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
    const description = `${host.includes(':') ? `[${host}]` : host}:${spec.port}`;
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
): Promise<OpenListener[]> {
  const listeners: OpenListener[] = [];
  for (const fd of fds) {
    let transport: 'tcp' | 'local' = 'tcp';
    const server = createServer({ noDelay: true }, (socket) => onConnection(socket, transport));
    await listenOnFd(server, fd);
    const address = server.address();
    transport = typeof address === 'string' ? 'local' : 'tcp';
    const description =
      typeof address === 'string'
        ? `${address} (fd ${fd})`
        : `${address?.family === 'IPv6' ? `[${address.address}]` : address?.address}:${address?.port} (fd ${fd})`;
    listeners.push({ server, transport, description });
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
 * connections are gone, or at once with `waitForConnections: false` (a server whose sockets were
 * sent to another process waits in close() for that process to report them closed, which an
 * exited worker never does). Idempotent: a second call waits for the first close instead of for
 * a 'close' event that has already been emitted.
 */
export function closeListeners(
  listeners: OpenListener[],
  options: { waitForConnections?: boolean } = {},
): Promise<void> {
  const waitForConnections = options.waitForConnections ?? true;
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
      return waitForConnections ? closed : undefined;
    }),
  ).then(() => undefined);
}
