// Follows the framing of a stream of backend messages (type byte, 4-byte length, body) without
// keeping them, to tell whether the bytes seen so far end exactly at a message boundary: only
// there can the gateway add a message of its own (a FATAL at shutdown) without corrupting the
// stream. Pure.
export class MessageBoundary {
  private header = 0;
  private headerBytes = Buffer.alloc(5);
  private remaining = 0;

  feed(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - at);
        this.remaining -= take;
        at += take;
        continue;
      }
      if (this.header === 0 && at + 5 <= chunk.length) {
        // A whole header in this chunk, the usual case: a COPY is a million messages per GB.
        this.remaining = Math.max(0, chunk.readUInt32BE(at + 1) - 4);
        at += 5;
        continue;
      }
      this.headerBytes[this.header++] = chunk[at++] as number;
      if (this.header === 5) {
        this.header = 0;
        // The length counts itself (4 bytes) but not the type byte.
        this.remaining = Math.max(0, this.headerBytes.readUInt32BE(1) - 4);
      }
    }
  }

  get atBoundary(): boolean {
    return this.header === 0 && this.remaining === 0;
  }
}
