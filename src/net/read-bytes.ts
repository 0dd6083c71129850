// Reads the first bytes of a conversation from a socket (a one-byte SSLRequest answer, a
// server's first message) without starting the stream for good: once enough has arrived the
// socket is paused again, with every byte read handed back to the caller.
import type { Duplex } from 'node:stream';

/**
 * The stream ended or closed before enough bytes arrived. That is how most short connections
 * end (a client that leaves after its handshake, a health check), not a fault: it carries no
 * stack trace, whose capture through the async frames of a connection cost more than the rest
 * of its ending.
 */
export class StreamEndedError extends Error {
  readonly code = 'ERR_STREAM_ENDED';
  constructor(readonly received: Buffer) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super('the connection was closed before the expected bytes arrived');
    Error.stackTraceLimit = limit;
    this.name = 'StreamEndedError';
  }
}

/**
 * Reads until `enough(bytesSoFar)` is true; resolves with all bytes read (possibly more than
 * needed). Rejects with StreamEndedError on end/close, the stream's error, or the signal's
 * reason. Leaves the stream paused and without listeners of its own.
 */
export function readUntil(
  stream: Duplex,
  enough: (received: Buffer) => boolean,
  signal?: AbortSignal,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let received: Buffer = Buffer.alloc(0);
    const cleanup = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      stream.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
      stream.pause();
    };
    const onData = (chunk: Buffer) => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      if (enough(received)) {
        cleanup();
        resolve(received);
      }
    };
    const onEnd = () => {
      cleanup();
      reject(new StreamEndedError(received));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onAbort = () => {
      cleanup();
      reject(signal?.reason);
    };
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    // 'end' is emitted once, maybe while an earlier read had paused the stream and had no
    // listener left: a client that sent its last bytes and its FIN together is gone already.
    if (stream.readableEnded || stream.destroyed) {
      reject(new StreamEndedError(received));
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    stream.once('error', onError);
    stream.resume();
  });
}
