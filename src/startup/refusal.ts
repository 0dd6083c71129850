// How a connection ends when pgtunnel refuses it: with the ErrorResponse PostgreSQL would send,
// then a close that never waits on the peer. Every listener (serve, connect, the ssh refusal
// path) ends a refused client through endWithReply.
import type { Duplex } from 'node:stream';

/** How long a refused client has to take the reply before the socket is destroyed. */
const REPLY_GRACE_MS = 1000;

/**
 * Writes `reply` (a FATAL, or nothing), ends the stream and destroys it once the bytes are out.
 * What the client still sends is read and dropped: unread bytes would make the kernel answer
 * with a reset, which can discard the reply before the client reads it. Never rejects.
 */
export function endWithReply(stream: Duplex, reply?: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) {
      stream.destroy();
      resolve();
      return;
    }
    stream.on('error', () => {});
    stream.resume();
    const timer = setTimeout(() => {
      stream.destroy();
      resolve();
    }, REPLY_GRACE_MS);
    stream.end(reply ?? Buffer.alloc(0), () => {
      clearTimeout(timer);
      // Give the kernel a moment to send the bytes before the reset a destroy may cause.
      setImmediate(() => {
        stream.destroy();
        resolve();
      });
    });
  });
}
