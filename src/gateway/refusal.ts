// How a connection ends when the gateway refuses it: with the ErrorResponse PostgreSQL would
// send (Refusal), or quietly (ConnectionEnded), and always without waiting on the peer.
import type { Duplex } from 'node:stream';
import { fatal } from '../protocol/backend-error.js';

/** A refusal that has already been (or needs no) reply; ends the connection quietly. */
export class ConnectionEnded extends Error {}

/** A FATAL to send before closing; thrown to leave the step sequence. */
export class Refusal extends Error {
  constructor(readonly reply: Buffer) {
    super('refused');
  }
}

export function refuse(sqlstate: string, message: string, detail?: string, hint?: string): never {
  throw new Refusal(
    fatal(sqlstate as Parameters<typeof fatal>[0], message, {
      ...(detail === undefined ? {} : { detail }),
      ...(hint === undefined ? {} : { hint }),
    }),
  );
}

/** Writes an optional final message, then closes without waiting for the peer. */
export function endGracefully(stream: Duplex, finalMessage?: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) {
      stream.destroy();
      resolve();
      return;
    }
    const timer = setTimeout(() => {
      stream.destroy();
      resolve();
    }, 1000);
    stream.end(finalMessage ?? Buffer.alloc(0), () => {
      clearTimeout(timer);
      // Give the kernel a moment to send the bytes before the reset a destroy may cause.
      setImmediate(() => {
        stream.destroy();
        resolve();
      });
    });
  });
}
