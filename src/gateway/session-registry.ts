// Every open client connection of this process: counts them for max_connections, lists them
// for the status view (pg_stat_ssl-like), and closes them on shutdown — a session relaying
// between client and server is told, as PostgreSQL tells it, "terminating connection due to
// administrator command" (57P01) when the server's stream is at a message boundary.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { fatal } from '../protocol/backend-error.js';
import { SqlState } from '../protocol/codes.js';
import { MessageBoundary } from '../protocol/message-boundary.js';
import type { TlsSessionInfo } from '../tls/peer-identity.js';

/** How long a terminated client may take to read its 57P01 before its socket is destroyed. */
const TERMINATE_FLUSH_MS = 1_000;

export type SessionState = 'negotiating' | 'authenticating' | 'active' | 'closing';

export interface SessionRecord {
  id: number;
  transport: 'tcp' | 'local';
  clientAddress: string;
  clientPort: number | undefined;
  startedAt: Date;
  state: SessionState;
  user: string | undefined;
  database: string | undefined;
  applicationName: string | undefined;
  tls: TlsSessionInfo | undefined;
  upstream: string | undefined;
  /** The route it took (routes_file), or undefined before the StartupMessage or without routes. */
  route: string | undefined;
  backendPid: number | undefined;
  /** Whether this connection counts against max_connections (cancel requests do not). */
  counted: boolean;
  /** Still in its startup (before authentication completed): counts against max_startup_connections. */
  starting: boolean;
  /** Opened beyond max_startup_connections: negotiated only to be told "too many clients". */
  deadEnd: boolean;
  sockets: Set<Socket>;
  /** Set once the session relays: the client's stream, the server's, and where the latter is. */
  relay?: { client: Duplex; upstream: Socket; boundary: MessageBoundary };
}

export class SessionRegistry {
  private readonly sessions = new Map<number, SessionRecord>();
  private nextId = 1;
  private counted = 0;
  private startingCount = 0;
  /** Dead-end connections, oldest first. */
  private readonly deadEnds = new Set<SessionRecord>();
  private drainWaiters: Array<() => void> = [];

  open(socket: Socket, transport: 'tcp' | 'local'): SessionRecord {
    const record: SessionRecord = {
      id: this.nextId++,
      transport,
      clientAddress: transport === 'local' ? '[local]' : (socket.remoteAddress ?? 'unknown'),
      clientPort: transport === 'local' ? undefined : socket.remotePort,
      startedAt: new Date(),
      state: 'negotiating',
      user: undefined,
      database: undefined,
      applicationName: undefined,
      tls: undefined,
      upstream: undefined,
      route: undefined,
      backendPid: undefined,
      counted: false,
      starting: true,
      deadEnd: false,
      sockets: new Set([socket]),
    };
    this.sessions.set(record.id, record);
    this.startingCount += 1;
    return record;
  }

  /** Counts a session that asked for a database session; false when max_connections is reached. */
  admit(record: SessionRecord, maxConnections: number): boolean {
    if (this.counted >= maxConnections) return false;
    record.counted = true;
    this.counted += 1;
    return true;
  }

  /** Connections opened and not yet authenticated, including `record` itself once opened. */
  get starting(): number {
    return this.startingCount;
  }

  /**
   * Applies max_startup_connections to a connection just opened. Within the bound it proceeds;
   * beyond it, it becomes a dead end, as in PostgreSQL's postmaster: it still gets its SSLRequest
   * answered and its TLS handshake, so that the client can read the "too many clients" error
   * (libpq ignores an error sent in place of the SSLRequest answer). Dead ends are bounded too:
   * when more than `limit` wait, the oldest is closed, so stalled connections cannot take every
   * descriptor and a client that talks promptly still reads the error.
   */
  applyStartupLimit(record: SessionRecord, limit: number): 'proceed' | 'dead-end' {
    if (this.startingCount - this.deadEnds.size <= limit) return 'proceed';
    record.deadEnd = true;
    this.deadEnds.add(record);
    if (this.deadEnds.size > limit) {
      const oldest = this.deadEnds.values().next().value;
      if (oldest) this.close(oldest);
    }
    return 'dead-end';
  }

  /** The session finished its startup: it no longer counts against max_startup_connections. */
  started(record: SessionRecord): void {
    if (!record.starting || !this.sessions.has(record.id)) return;
    record.starting = false;
    this.startingCount -= 1;
  }

  /**
   * The session now relays between `client` and `upstream`; `alreadySent` are server bytes the
   * client was given before relaying began.
   */
  relaying(record: SessionRecord, client: Duplex, upstream: Socket, alreadySent: Buffer): void {
    const boundary = new MessageBoundary();
    boundary.feed(alreadySent);
    upstream.on('data', (chunk: Buffer) => boundary.feed(chunk));
    record.relay = { client, upstream, boundary };
  }

  /**
   * Ends a session at shutdown: a relaying session whose server stream is at a message
   * boundary gets 57P01 first, as PostgreSQL's backends send it; others are closed.
   */
  private terminate(record: SessionRecord): Promise<void> {
    const relay = record.relay;
    if (!relay?.boundary.atBoundary || relay.client.destroyed) {
      this.close(record);
      return Promise.resolve();
    }
    relay.upstream.pause();
    relay.upstream.destroy();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, TERMINATE_FLUSH_MS);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      relay.client.once('close', done);
      relay.client.end(
        fatal(SqlState.ADMIN_SHUTDOWN, 'terminating connection due to administrator command'),
      );
    }).then(() => this.close(record));
  }

  close(record: SessionRecord): void {
    if (!this.sessions.delete(record.id)) return;
    if (record.counted) this.counted -= 1;
    if (record.starting) this.startingCount -= 1;
    this.deadEnds.delete(record);
    for (const socket of record.sockets) socket.destroy();
    if (this.sessions.size === 0) {
      for (const waiter of this.drainWaiters.splice(0)) waiter();
    }
  }

  get size(): number {
    return this.sessions.size;
  }

  list(): SessionRecord[] {
    return [...this.sessions.values()];
  }

  /** Resolves when no session is left, or after `timeoutMs` (then closes what remains). */
  async drain(timeoutMs: number): Promise<{ closedByForce: number }> {
    if (this.sessions.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.drainWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return { closedByForce: await this.terminateAll() };
  }

  /** Ends every session now (57P01 where possible); resolves with how many there were. */
  async terminateAll(): Promise<number> {
    const remaining = this.list();
    await Promise.all(remaining.map((record) => this.terminate(record)));
    return remaining.length;
  }
}
