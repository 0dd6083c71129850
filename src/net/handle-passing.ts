// Connections passed to another process as bare handles. A process that only hands each
// accepted connection on has no use for a net.Socket: building one, and sending it as a
// socket (Node then tracks it on both sides for the server's close()), made our primary spend
// about half again the CPU per connection of node:cluster's round-robin, which passes the bare
// handle. Node has no public API for either end, so both use what node:cluster itself uses:
// the listening handle's `onconnection` callback, and a Socket built around a received handle.
import { type Server, Socket, type SocketConstructorOpts } from 'node:net';
import { getSystemErrorName } from 'node:util';

/** An accepted connection's handle (libuv TCP or pipe) that belongs to no Socket. */
export interface ConnectionHandle {
  /** Closes this process's descriptor; another process holding the connection keeps it. */
  close(): void;
}

interface ListeningHandle {
  onconnection: (this: unknown, status: number, handle?: ConnectionHandle) => void;
}

/**
 * From now on, connections accepted by the listening `server` go to `onHandle` as bare handles
 * instead of becoming Sockets ('connection' is no longer emitted). An accept that fails (e.g.
 * EMFILE) goes to `onError` and the server keeps listening.
 */
export function acceptHandles(
  server: Server,
  onHandle: (handle: ConnectionHandle) => void,
  onError: (error: NodeJS.ErrnoException) => void,
): void {
  const listening = (server as unknown as { _handle?: Partial<ListeningHandle> | null })._handle;
  if (!listening || typeof listening.onconnection !== 'function') {
    throw new Error(
      'acceptHandles: the server is not listening, or this Node.js version accepts connections differently',
    );
  }
  listening.onconnection = (status, handle) => {
    if (status < 0 || !handle) {
      const code = status < 0 ? getSystemErrorName(status) : 'EINVAL';
      onError(Object.assign(new Error(`accept failed: ${code}`), { code, syscall: 'accept' }));
      return;
    }
    onHandle(handle);
  };
}

/** A Socket around a handle received from another process (what Node does for a sent Socket). */
export function socketFromHandle(handle: unknown): Socket {
  if (typeof handle !== 'object' || handle === null || !('readStart' in handle)) {
    throw new TypeError('socketFromHandle: not a connection handle');
  }
  return new Socket({ handle, readable: true, writable: true } as SocketConstructorOpts);
}
