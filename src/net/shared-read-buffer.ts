// Plaintext sockets whose reads land in one buffer shared by the whole process instead of a
// fresh 64 kB buffer per read. Through a bulk COPY those fresh buffers (their allocation, the
// page faults of filling new memory, the garbage collections they trigger) cost a relay more
// CPU than its own code. Until a relay takes a socket over, each read is copied and pushed, so
// the socket behaves as any other ('data', pause, unshift, end). After takeOverReads each read
// goes to the relay as a view of the shared buffer, which the next read of any such socket
// overwrites: the relay must be done with it (or have copied it) before it returns.
import { connect, type NetConnectOpts, type Socket } from 'node:net';

/** Larger than Node's 64 kB read: one read (and one TLS write after it) moves more of a COPY. */
export const SHARED_READ_BYTES = 256 * 1024;

let shared: Buffer | undefined;

type Sink = (chunk: Buffer) => void;

interface Reader {
  socket: Socket | undefined;
  sink: Sink | undefined;
}

const readers = new WeakMap<Socket, Reader>();

/** `net.connect(options)`, reading into the shared buffer. */
export function connectWithSharedReadBuffer(options: NetConnectOpts): Socket {
  shared ??= Buffer.allocUnsafeSlow(SHARED_READ_BYTES);
  const reader: Reader = { socket: undefined, sink: undefined };
  const socket = connect({
    ...options,
    onread: {
      buffer: shared,
      callback: (bytes: number, buffer: Uint8Array) => onRead(reader, bytes, buffer),
    },
  });
  reader.socket = socket;
  readers.set(socket, reader);
  return socket;
}

function onRead(reader: Reader, bytes: number, buffer: Uint8Array): boolean {
  const view = (buffer as Buffer).subarray(0, bytes);
  if (reader.sink) {
    reader.sink(view);
    return true;
  }
  // Not taken over: behave as a socket that reads into buffers of its own.
  return reader.socket?.push(Buffer.from(view)) ?? false;
}

/**
 * From now on `socket`'s reads go to `sink`, each a view of the shared buffer valid only until
 * `sink` returns; bytes the socket had read and not yet delivered go to `sink` first. 'end'
 * and 'error' are emitted as before, pause() and resume() still stop and start reading.
 * Returns false (and changes nothing) if `socket` does not read into the shared buffer.
 */
export function takeOverReads(socket: Socket, sink: Sink): boolean {
  const reader = readers.get(socket);
  if (!reader) return false;
  // Earlier reads were pushed as copies of their own: they stay valid as they are.
  if (socket.readableLength > 0) {
    const pending = socket.read() as Buffer | null;
    if (pending) sink(pending);
  }
  reader.sink = sink;
  return true;
}

/** Whether `chunk` is a view of the shared buffer (valid only until the next read). */
export function isSharedReadBufferView(chunk: Uint8Array): boolean {
  return shared !== undefined && chunk.buffer === shared.buffer;
}
