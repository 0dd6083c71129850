// Every open client connection of this process: counts them for max_connections, lists them
// for the status view (pg_stat_ssl-like), and closes them on shutdown.
import type { Socket } from 'node:net';
import type { TlsSessionInfo } from '../tls/peer-identity.js';

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
  backendPid: number | undefined;
  /** Whether this connection counts against max_connections (cancel requests do not). */
  counted: boolean;
  /** Still in its startup (before authentication completed): counts against max_startup_connections. */
  starting: boolean;
  /** Opened beyond max_startup_connections: negotiated only to be told "too many clients". */
  deadEnd: boolean;
  sockets: Set<Socket>;
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
    const remaining = this.list();
    for (const record of remaining) this.close(record);
    return { closedByForce: remaining.length };
  }

  closeAll(): number {
    const remaining = this.list();
    for (const record of remaining) this.close(record);
    return remaining.length;
  }
}
