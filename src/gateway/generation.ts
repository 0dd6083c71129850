// What every client connection of the gateway runs under: the configuration generation (a
// reload makes a new one, open sessions keep theirs), the shared environment, and the events
// it reports. Kept apart so that the connection steps and their helpers import types, not each other.
import type { Duplex } from 'node:stream';
import type { Settings } from '../config/settings.js';
import type { UpstreamTarget } from '../libpq/upstream-session.js';
import type { Logger } from '../log.js';
import type { CertificateEntry } from '../tls/certificate-inventory.js';
import type { HandshakeFailureReason } from '../tls/handshake-failure.js';
import type { TlsAcceptor } from '../tls/tls-acceptor.js';
import type { AccessPolicy } from './access-policy.js';
import type { GatewaySessions, SessionRecord } from './gateway-sessions.js';
import type { RouteTable } from './routes/route-table.js';

/** The configuration a connection runs under; a reload makes a new one, open sessions keep theirs. */
export interface GatewayGeneration {
  readonly settings: Settings;
  /** Undefined when ssl is off. */
  readonly tls: TlsAcceptor | undefined;
  readonly access: AccessPolicy;
  /** The servers of `upstream`, in libpq's order; a session goes to the first that accepts. */
  readonly upstreams: readonly UpstreamTarget[];
  /** The served certificate, CAs and CRLs in effect, with their expiry (metrics, console). */
  readonly certificates?: readonly CertificateEntry[];
  /** The route this is: a [name] of routes_file, or 'default' for the main configuration. */
  readonly route?: string;
  /** The routes of routes_file (each a generation of its own); none without one. */
  readonly routes?: RouteTable<GatewayGeneration> | undefined;
  /** Every route's servers, where a cancel request (which names no route) is sent. */
  readonly cancelTargets?: readonly UpstreamTarget[];
}

export interface ConnectionEnvironment {
  current(): GatewayGeneration;
  readonly registry: GatewaySessions;
  readonly logger: Logger;
  isShuttingDown(): boolean;
  readonly events: GatewayEvents;
  /** Serves the admin console (virtual database `pgtunnel`). */
  readonly adminConsole: AdminConsole;
}

/**
 * Serves an admin console session on `client`, whose login the server accepted (that server
 * session is already ended); resolves when the client leaves.
 */
export type AdminConsole = (
  client: Duplex,
  record: SessionRecord,
  env: ConnectionEnvironment,
  log: Logger,
) => Promise<void>;

/** Observability hooks (metrics); every call is cheap and optional work. */
export interface GatewayEvents {
  connectionRefused(reason: string): void;
  /** `route`: the route taken, with routes_file only. */
  sessionStarted(tls: boolean, route?: string): void;
  sessionEnded(bytesIn: number, bytesOut: number, route?: string): void;
  tlsHandshakeFailed(reason: HandshakeFailureReason): void;
}
