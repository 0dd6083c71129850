// The live sessions of a listener (connect, serve --raw, an ssh forward): each client socket
// with the upstream it was joined to, so that a smart stop can wait for them and a fast stop
// can close both sides of each.
import type { Duplex } from 'node:stream';

interface Entry {
  upstream: Duplex | undefined;
  done: Promise<void>;
}

export class SessionSet {
  private readonly entries = new Map<Duplex, Entry>();

  /** Sessions still running. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Runs `work` as the session of `client`; `attach(upstream)` records the other side once it
   * exists. The session leaves the set when `work` settles; a rejection is passed to
   * `onError` (the client is destroyed), never to the caller.
   */
  run(
    client: Duplex,
    work: (attach: (upstream: Duplex) => void) => Promise<unknown>,
    onError: (error: unknown) => void,
  ): void {
    const entry: Entry = { upstream: undefined, done: Promise.resolve() };
    this.entries.set(client, entry);
    entry.done = work((upstream) => {
      entry.upstream = upstream;
    })
      .then(
        () => {},
        (error: unknown) => {
          onError(error);
          client.destroy();
        },
      )
      .finally(() => {
        this.entries.delete(client);
      });
  }

  /**
   * Resolves true once every session has ended, or false when `timeoutMs` passes first
   * (no limit when omitted). Sessions started meanwhile are waited for too.
   */
  async drain(timeoutMs?: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const expired =
      timeoutMs === undefined
        ? undefined
        : new Promise<false>((resolve) => {
            timer = setTimeout(() => resolve(false), timeoutMs);
          });
    try {
      while (this.entries.size > 0) {
        const all = Promise.all([...this.entries.values()].map((e) => e.done)).then(() => true);
        if ((await (expired ? Promise.race([all, expired]) : all)) === false) return false;
      }
      return true;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Destroys the client and the upstream of every session. */
  closeAll(): void {
    for (const [client, entry] of this.entries) {
      client.destroy();
      entry.upstream?.destroy();
    }
  }
}
