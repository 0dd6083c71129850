// The live sessions of a listener — connect, serve --raw, an ssh forward, and the gateway — so
// that a smart stop can wait for them and a fast stop can end each of them. A session is any
// record the caller keeps (the gateway's carries what /status and max_connections need); how
// one is ended is the set's one policy: by default both sides are destroyed, the gateway first
// tells a relaying client 57P01 as PostgreSQL does.
import type { Duplex } from 'node:stream';

/** A client joined to the upstream it was given, once there is one. */
export interface PairedSession {
  readonly client: Duplex;
  upstream: Duplex | undefined;
}

/**
 * Ends a session for `closeAll`. It must make the session leave the set (`delete`), at once or
 * once the session's own code notices its sockets closed.
 */
export type EndSession<S> = (session: S) => void | Promise<void>;

function destroyBoth(session: PairedSession): void {
  session.client.destroy();
  session.upstream?.destroy();
}

export class SessionSet<S extends object = PairedSession> {
  private readonly sessions = new Set<S>();
  private emptied: Array<() => void> = [];
  private readonly end: EndSession<S>;

  /** `end` defaults to destroying the client and the upstream of a PairedSession. */
  constructor(end?: EndSession<S>) {
    this.end = end ?? (destroyBoth as unknown as EndSession<S>);
  }

  /** Sessions still running. */
  get size(): number {
    return this.sessions.size;
  }

  /** The sessions running now, oldest first. */
  list(): S[] {
    return [...this.sessions];
  }

  has(session: S): boolean {
    return this.sessions.has(session);
  }

  add(session: S): S {
    this.sessions.add(session);
    return session;
  }

  /** Takes `session` out of the set; false when it had already left. */
  delete(session: S): boolean {
    if (!this.sessions.delete(session)) return false;
    if (this.sessions.size === 0) for (const wake of this.emptied.splice(0)) wake();
    return true;
  }

  /**
   * Runs `work` as the session of `client`; `attach(upstream)` records the other side once it
   * exists. The session leaves the set when `work` settles; a rejection is passed to
   * `onError` (the client is destroyed), never to the caller.
   */
  run(
    this: SessionSet<PairedSession>,
    client: Duplex,
    work: (attach: (upstream: Duplex) => void) => Promise<unknown>,
    onError: (error: unknown) => void,
  ): void {
    const session = this.add({ client, upstream: undefined });
    work((upstream) => {
      session.upstream = upstream;
    })
      .then(
        () => {},
        (error: unknown) => {
          onError(error);
          client.destroy();
        },
      )
      .finally(() => this.delete(session));
  }

  /**
   * Resolves true once every session has ended, or false when `timeoutMs` passes first
   * (no limit when omitted). Sessions started meanwhile are waited for too.
   */
  drain(timeoutMs?: number): Promise<boolean> {
    if (this.sessions.size === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.emptied = this.emptied.filter((wake) => wake !== onEmpty);
              resolve(false);
            }, timeoutMs);
      const onEmpty = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.emptied.push(onEmpty);
    });
  }

  /** Ends every session now; resolves, with how many there were, once each was ended. */
  async closeAll(): Promise<number> {
    const running = this.list();
    await Promise.all(running.map((session) => this.end(session)));
    return running.length;
  }
}
