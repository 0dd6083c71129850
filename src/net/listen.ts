// Binds a net.Server (or tls.Server) to a SocketAddress: TCP, or a unix socket whose stale file
// from a crashed process is removed first (but never one somebody still answers on), with the
// requested permissions; or to an inherited file descriptor (socket activation).
import { chmodSync, existsSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, type Server } from 'node:net';
import { describeError, PgTunnelError } from '../errors.js';
import { formatSocketAddress, type SocketAddress } from './address.js';

export interface ListenOptions {
  /**
   * Permissions of a unix socket file; default 0o777 (as PostgreSQL's default); 'umask' leaves
   * what the process umask gave it.
   */
  unixSocketMode?: number | 'umask';
  backlog?: number;
  /** What the listener is for, named in errors: `for -L 5432:db:5432`, `for admin_listen`. */
  purpose?: string;
}

/**
 * Makes `path` free for a new unix socket: removes the stale socket file a crashed process
 * left, but never a file that is not a socket or one somebody still answers on (errors made
 * by `fail`, which names the address).
 */
async function claimSocketPath(path: string, fail: (why: string) => Error): Promise<void> {
  if (path.startsWith('\0') || !existsSync(path)) return;
  if (!lstatSync(path).isSocket()) {
    throw fail('the path exists and is not a socket; remove it or choose another path');
  }
  if (await probeAlive(path)) throw fail('another server is already listening there');
  unlinkSync(path);
}

function probeAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

function bind(server: Server, options: Parameters<Server['listen']>[0]): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(options, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/**
 * Listens on `address`. Rejects with PgTunnelError ERR_LISTEN naming the address and the
 * reason (e.g. "the address is already in use"). A TCP host of '' means every address of both
 * families on one socket (as ssh's `*`); an IPv6 host binds IPv6 only, so that `::` can sit
 * beside `0.0.0.0` on the same port.
 */
export async function listenOn(
  server: Server,
  address: SocketAddress,
  options: ListenOptions = {},
): Promise<void> {
  const shown =
    address.kind === 'tcp' && address.host === ''
      ? `*:${address.port}`
      : formatSocketAddress(address);
  const purpose = options.purpose ? ` ${options.purpose}` : '';
  const fail = (why: string, cause?: unknown) =>
    new PgTunnelError('ERR_LISTEN', `could not listen on ${shown}${purpose}: ${why}`, { cause });
  try {
    if (address.kind === 'unix') {
      await claimSocketPath(address.path, fail);
      await bind(server, { path: address.path, backlog: options.backlog ?? 511 });
      const mode = options.unixSocketMode ?? 0o777;
      if (!address.path.startsWith('\0') && mode !== 'umask') chmodSync(address.path, mode);
      return;
    }
    await bind(server, {
      ...(address.host === '' ? {} : { host: address.host }),
      port: address.port,
      backlog: options.backlog ?? 511,
      ipv6Only: address.host.includes(':'),
    });
  } catch (error) {
    if (error instanceof PgTunnelError) throw error;
    throw fail(listenFailure(address, error), error);
  }
}

/** Why a bind failed, in words that say what to do. */
function listenFailure(address: SocketAddress, error: unknown): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'EADDRINUSE':
      return 'the address is already in use (another PostgreSQL, pgtunnel or tunnel?); stop it or pick another port';
    case 'EACCES':
      return address.kind === 'tcp' && address.port > 0 && address.port < 1024
        ? 'permission denied; ports below 1024 need root, so pick a port of 1024 or more'
        : 'permission denied';
    case 'EADDRNOTAVAIL':
      return 'the address is not available on this machine';
    case 'ENOENT':
      return 'the directory does not exist';
    default:
      return describeError(error);
  }
}

/** Listens on an inherited, already-bound socket (systemd socket activation). */
export async function listenOnFd(server: Server, fd: number): Promise<void> {
  try {
    await bind(server, { fd });
  } catch (error) {
    throw new PgTunnelError(
      'ERR_LISTEN',
      `could not listen on inherited file descriptor ${fd}: ${describeError(error)}`,
      { cause: error },
    );
  }
}

/** Removes a unix socket file this process created (best effort, at shutdown). */
export function removeSocketFile(address: SocketAddress): void {
  if (address.kind !== 'unix' || address.path.startsWith('\0')) return;
  try {
    if (lstatSync(address.path).isSocket()) unlinkSync(address.path);
  } catch {
    // already gone
  }
}

/** A server bound by listenAll, with what to call it in logs. */
export interface BoundServer<S extends Server> {
  server: S;
  /** Where it was bound; undefined for an inherited descriptor. */
  address: SocketAddress | undefined;
  /** e.g. `127.0.0.1:5432`, `/tmp/.s.PGSQL.5432`, `127.0.0.1:5432 (fd 3)`. */
  description: string;
}

/** How a bound server is named: its real address (a port 0 resolved), and an inherited fd. */
export function describeBound(
  server: Server,
  address: SocketAddress | undefined,
  fd?: number,
): string {
  const bound = server.address();
  const shown =
    bound && typeof bound === 'object'
      ? formatSocketAddress({ kind: 'tcp', host: bound.address, port: bound.port })
      : address
        ? formatSocketAddress(address)
        : typeof bound === 'string'
          ? bound
          : 'socket';
  return fd === undefined ? shown : `${shown} (fd ${fd})`;
}

/**
 * Binds a server made by `newServer` to each address and to each inherited descriptor. If one
 * fails, the ones already bound are closed (their socket files removed) and the error is thrown.
 */
export async function listenAll<S extends Server>(
  newServer: () => S,
  addresses: readonly SocketAddress[],
  fds: readonly number[],
  options: ListenOptions = {},
): Promise<Array<BoundServer<S>>> {
  const bound: Array<BoundServer<S>> = [];
  try {
    for (const address of addresses) {
      const server = newServer();
      await listenOn(server, address, options);
      bound.push({ server, address, description: describeBound(server, address) });
    }
    for (const fd of fds) {
      const server = newServer();
      await listenOnFd(server, fd);
      bound.push({ server, address: undefined, description: describeBound(server, undefined, fd) });
    }
  } catch (error) {
    for (const { server, address } of bound) {
      server.close();
      if (address) removeSocketFile(address);
    }
    throw error;
  }
  return bound;
}
