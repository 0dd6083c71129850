// The gateway's open client connections, kept in the one SessionSet of src/net/: what /status
// and SHOW SESSIONS list (pg_stat_ssl-like), what max_connections and max_startup_connections
// count, and how a session ends at shutdown — a session relaying between client and server is
// told, as PostgreSQL tells it, "terminating connection due to administrator command" (57P01)
// when the server's stream is at a message boundary.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { SessionSet } from '../net/session-set.js';
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

export class GatewaySessions {
  private readonly set = new SessionSet<SessionRecord>((record) => this.terminate(record));
  private nextId = 1;
  private counted = 0;
  private startingCount = 0;
  /** Dead-end connections, oldest first. */
  private readonly deadEnds = new Set<SessionRecord>();

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
    this.set.add(record);
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
    if (!record.starting || !this.set.has(record)) return;
    record.starting = false;
    this.startingCount -= 1;
  }

  /**
   * The session now relays between `client` and `upstream`; `alreadySent` are server bytes the
   * client was given before relaying began. Returns what must see every later server chunk
   * the relay copies (pump's observeBtoA), to know where the server's messages end.
   */
  relaying(
    record: SessionRecord,
    client: Duplex,
    upstream: Socket,
    alreadySent: Buffer,
  ): (chunk: Buffer) => void {
    const boundary = new MessageBoundary();
    boundary.feed(alreadySent);
    record.relay = { client, upstream, boundary };
    return (chunk) => boundary.feed(chunk);
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

  /** Closes the session's sockets; it no longer counts anywhere. */
  close(record: SessionRecord): void {
    if (!this.set.delete(record)) return;
    if (record.counted) this.counted -= 1;
    if (record.starting) this.startingCount -= 1;
    this.deadEnds.delete(record);
    for (const socket of record.sockets) socket.destroy();
  }

  get size(): number {
    return this.set.size;
  }

  list(): SessionRecord[] {
    return this.set.list();
  }

  /** Resolves when no session is left, or after `timeoutMs` (then ends what remains). */
  async drain(timeoutMs: number): Promise<{ closedByForce: number }> {
    await this.set.drain(timeoutMs);
    return { closedByForce: await this.set.closeAll() };
  }

  /** Ends every session now (57P01 where possible); resolves with how many there were. */
  terminateAll(): Promise<number> {
    return this.set.closeAll();
  }
}
