// Opens the gateway's listening sockets the way PostgreSQL does: each entry of
// listen_addresses (`*` = every IPv4 and IPv6 address, `localhost` = its loopback addresses),
// and `.s.PGSQL.<port>` in each unix_socket_directories entry. One failed address is a
// warning while another succeeds; none at all is an error.
import { lookup } from 'node:dns/promises';
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { describeError, PgTunnelError } from '../errors.js';
import type { Logger } from '../log.js';

export interface ListenSpec {
  listenAddresses: string[];
  port: number;
  unixSocketDirectories: string[];
  unixSocketPermissions: number;
}

export interface OpenListener {
  server: Server;
  transport: 'tcp' | 'local';
  /** e.g. `127.0.0.1:6432` or `/tmp/.s.PGSQL.6432`. */
  description: string;
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
  for (const host of await expandAddresses(spec.listenAddresses)) {
    const description = `${host.includes(':') ? `[${host}]` : host}:${spec.port}`;
    try {
      const server = await listen((s) => onConnection(s, 'tcp'), {
        host,
        port: spec.port,
        ipv6Only: host.includes(':'),
      });
      listeners.push({ server, transport: 'tcp', description });
    } catch (error) {
      failures.push(`${description}: ${describeError(error)}`);
      log.warn(
        { address: description, err: describeError(error) },
        'could not create listen socket',
      );
    }
  }
  for (const dir of spec.unixSocketDirectories) {
    const socketPath = join(dir, `.s.PGSQL.${spec.port}`);
    try {
      await removeStaleSocket(socketPath);
      const server = await listen((s) => onConnection(s, 'local'), { path: socketPath });
      chmodSync(socketPath, spec.unixSocketPermissions);
      listeners.push({ server, transport: 'local', description: socketPath, socketPath });
    } catch (error) {
      failures.push(`${socketPath}: ${describeError(error)}`);
      log.warn({ path: socketPath, err: describeError(error) }, 'could not create unix socket');
    }
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
    const server = await new Promise<Server>((resolve, reject) => {
      const created = createServer({ noDelay: true }, (socket) => onConnection(socket, transport));
      created.once('error', reject);
      created.listen({ fd }, () => {
        created.off('error', reject);
        resolve(created);
      });
    });
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

function listen(
  onConnection: (socket: Socket) => void,
  options: { host: string; port: number; ipv6Only: boolean } | { path: string },
): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer({ noDelay: true }, onConnection);
    server.once('error', reject);
    server.listen({ ...options, backlog: 511 }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** A socket file left by a crashed process blocks listen(); remove it if nobody answers. */
async function removeStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  const alive = await new Promise<boolean>((resolve) => {
    const probe = connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) {
    throw new PgTunnelError('ERR_LISTEN', `another server is already listening on "${path}"`);
  }
  unlinkSync(path);
}

export function closeListeners(listeners: OpenListener[]): Promise<void> {
  return Promise.all(
    listeners.map(
      (listener) =>
        new Promise<void>((resolve) => {
          listener.server.close(() => resolve());
        }),
    ),
  ).then(() => undefined);
}
