// Typed protocol messages read from a stream one at a time, for the short conversations the
// gateway holds itself (authentication, its own queries). Can instead forward the raw bytes to
// another stream, so that a relay can switch between copying and reading without losing any.
import type { Duplex } from 'node:stream';
import { type Message, MessageReader } from '../protocol/message-reader.js';

/** The peer closed the connection (or it was aborted) while a message was awaited. */
export class PeerClosedError extends Error {
  constructor(readonly peer: string) {
    super(`the ${peer} closed the connection`);
    this.name = 'PeerClosedError';
  }
}

/** The peer sent bytes that do not frame as protocol messages. */
export class InvalidMessageError extends Error {
  constructor(
    readonly peer: string,
    reason: string,
  ) {
    super(`the ${peer} sent an invalid message: ${reason}`);
    this.name = 'InvalidMessageError';
  }
}

export class MessageStream {
  private readonly reader = new MessageReader();
  private readonly queue: Message[] = [];
  private waiter: { resolve(message: Message): void; reject(error: Error): void } | undefined;
  private failure: Error | undefined;
  private forward: Duplex | undefined;
  private detached = false;

  /**
   * Starts reading `stream` (resuming it). `initial` holds bytes already read from it.
   * @param peer `client` or `server`, for error messages.
   */
  constructor(
    private readonly stream: Duplex,
    readonly peer: string,
    initial: Buffer = Buffer.alloc(0),
  ) {
    stream.on('data', this.onData);
    stream.once('close', this.onClose);
    stream.once('end', this.onClose);
    if (initial.length > 0) this.onData(initial);
    stream.resume();
  }

  /** The next message; rejects with PeerClosedError, InvalidMessageError or the abort reason. */
  next(): Promise<Message> {
    const message = this.queue.shift();
    if (message) return Promise.resolve(message);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /**
   * Copies everything unread, then every later byte, to `destination` unparsed; `undefined`
   * goes back to reading messages.
   */
  forwardTo(destination: Duplex | undefined): void {
    this.forward = destination;
    if (destination) {
      const pending = this.takeUnread();
      if (pending.length > 0) destination.write(pending);
    }
  }

  /** Fails the pending and every later next() with `error` (the other side went away). */
  abort(error: Error): void {
    this.fail(error);
  }

  /** Stops reading and pauses the stream; returns the bytes not yet consumed. */
  detach(): Buffer {
    this.detached = true;
    this.stream.off('data', this.onData);
    this.stream.off('close', this.onClose);
    this.stream.off('end', this.onClose);
    this.stream.pause();
    return this.takeUnread();
  }

  private takeUnread(): Buffer {
    const parts = this.queue.splice(0).map((message) => message.raw);
    parts.push(this.reader.remainder());
    return Buffer.concat(parts);
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.detached) return;
    if (this.forward) {
      this.forward.write(chunk);
      return;
    }
    if (this.failure) return;
    let messages: Message[];
    try {
      messages = this.reader.push(chunk);
    } catch (error) {
      this.fail(new InvalidMessageError(this.peer, (error as Error).message));
      return;
    }
    for (const message of messages) {
      const waiter = this.waiter;
      if (waiter) {
        this.waiter = undefined;
        waiter.resolve(message);
      } else {
        this.queue.push(message);
      }
    }
  };

  private readonly onClose = (): void => {
    this.fail(new PeerClosedError(this.peer));
  };

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(error);
  }
}
