// Binds a net.Server (or tls.Server) to a SocketAddress: TCP, or a unix socket whose stale file
// from a crashed process is removed first (but never one somebody still answers on), with the
// requested permissions; or to an inherited file descriptor (socket activation).
import { chmodSync, existsSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, type Server } from 'node:net';
import { describeError, PgTunnelError } from '../errors.js';
import { formatSocketAddress, type SocketAddress } from './address.js';

export interface ListenOptions {
  /** Permissions of a unix socket file; default 0o777 (as PostgreSQL's default). */
  unixSocketMode?: number;
  backlog?: number;
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
 * reason (e.g. "address already in use").
 */
export async function listenOn(
  server: Server,
  address: SocketAddress,
  options: ListenOptions = {},
): Promise<void> {
  const shown = formatSocketAddress(address);
  const fail = (why: string, cause?: unknown) =>
    new PgTunnelError('ERR_LISTEN', `could not listen on ${shown}: ${why}`, { cause });
  try {
    if (address.kind === 'unix') {
      const abstract = address.path.startsWith('\0');
      if (!abstract && existsSync(address.path)) {
        if (!lstatSync(address.path).isSocket()) {
          throw fail('the path exists and is not a socket; remove it or choose another path');
        }
        if (await probeAlive(address.path)) {
          throw fail('another server is already listening there');
        }
        unlinkSync(address.path);
      }
      await bind(server, { path: address.path, backlog: options.backlog ?? 511 });
      if (!abstract) chmodSync(address.path, options.unixSocketMode ?? 0o777);
      return;
    }
    await bind(server, {
      host: address.host,
      port: address.port,
      backlog: options.backlog ?? 511,
      ipv6Only: address.host.includes(':'),
    });
  } catch (error) {
    if (error instanceof PgTunnelError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'EADDRINUSE'
        ? 'address already in use (is another pgtunnel or server running?)'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EADDRNOTAVAIL'
            ? 'the address is not available on this machine'
            : code === 'ENOENT'
              ? 'the directory does not exist'
              : describeError(error);
    throw fail(why, error);
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
