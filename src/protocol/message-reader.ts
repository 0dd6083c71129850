// Frames typed protocol messages (1-byte type, Int32 length, body) out of a byte stream.
// Used only during the startup exchange; afterwards bytes are forwarded unparsed.

export interface Message {
  type: number;
  /** Body without type and length. */
  body: Buffer;
  /** The whole message as received (type + length + body). */
  raw: Buffer;
}

/** The largest message accepted during the startup exchange (auth messages are small). */
export const MAX_STARTUP_PHASE_MESSAGE = 1 << 20;

export class MessageReader {
  private buffered: Buffer = Buffer.alloc(0);

  /** Adds bytes; returns every complete message now available, in order. */
  push(chunk: Buffer): Message[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const messages: Message[] = [];
    let offset = 0;
    while (this.buffered.length - offset >= 5) {
      const length = this.buffered.readUInt32BE(offset + 1);
      if (length < 4 || length > MAX_STARTUP_PHASE_MESSAGE) {
        throw new RangeError(`invalid message length ${length}`);
      }
      const end = offset + 1 + length;
      if (this.buffered.length < end) break;
      const raw = this.buffered.subarray(offset, end);
      messages.push({ type: raw[0] ?? 0, body: raw.subarray(5), raw });
      offset = end;
    }
    this.buffered = this.buffered.subarray(offset);
    return messages;
  }

  /** Bytes received after the last complete message. */
  remainder(): Buffer {
    const rest = this.buffered;
    this.buffered = Buffer.alloc(0);
    return rest;
  }
}
