// Opens one outgoing stream connection (TCP or unix socket) that an AbortSignal can cancel.
// Errors are Node's own (with `code`, e.g. ECONNREFUSED) so callers can word them.
import { connect, type NetConnectOpts, type Socket } from 'node:net';
import type { SocketAddress } from './address.js';
import { connectWithSharedReadBuffer } from './shared-read-buffer.js';

export interface DialOptions {
  /** Cancels the attempt (and destroys the socket); the promise rejects with the reason. */
  signal?: AbortSignal;
  /** TCP keepalive; default off. */
  keepAlive?: boolean;
  keepAliveInitialDelayMs?: number;
  /** Disable Nagle (libpq does); default true. */
  noDelay?: boolean;
  /** Keep the writable side open after the peer's FIN (needed for half-close); default true. */
  allowHalfOpen?: boolean;
  /**
   * Read into the process's shared read buffer (shared-read-buffer.ts): for a connection that
   * stays plaintext and whose bytes a relay hands to a TLS socket. Default false.
   */
  sharedReadBuffer?: boolean;
}

/** Connects to `address`; resolves with the connected socket. */
export function dial(address: SocketAddress, options: DialOptions = {}): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const { signal } = options;
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const allowHalfOpen = options.allowHalfOpen ?? true;
    const connectOptions: NetConnectOpts =
      address.kind === 'unix'
        ? { path: address.path, allowHalfOpen }
        : {
            host: address.host,
            port: address.port,
            allowHalfOpen,
            noDelay: options.noDelay ?? true,
            keepAlive: options.keepAlive ?? false,
            keepAliveInitialDelay: options.keepAliveInitialDelayMs ?? 0,
          };
    const socket = options.sharedReadBuffer
      ? connectWithSharedReadBuffer(connectOptions)
      : connect(connectOptions);
    const onAbort = () => {
      socket.destroy();
      reject(signal?.reason);
    };
    const onError = (error: Error) => {
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('error', onError);
    socket.once('connect', () => {
      signal?.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
