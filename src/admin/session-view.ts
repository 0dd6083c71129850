// One open client connection as /status shows it: what PostgreSQL's pg_stat_activity and
// pg_stat_ssl would show for it, as plain JSON (it crosses the worker IPC channel). Built from
// the gateway's live sessions; it holds no keys, passwords or secrets, only what a DBA sees there.
import type { SessionRecord } from '../gateway/gateway-sessions.js';

/** A session in /status; field names follow pg_stat_activity / pg_stat_ssl where they exist. */
export interface SessionView {
  /** Connection id, unique within its process (log lines carry it as `conn`). */
  id: number;
  /** The process serving it (a worker's pid with workers > 1). */
  pid: number;
  transport: 'tcp' | 'local';
  /** Client IP address, or `[local]` for a unix socket. */
  client_addr: string;
  client_port: number | null;
  /** `usename` in pg_stat_activity. */
  user: string | null;
  /** `datname` in pg_stat_activity. */
  database: string | null;
  application_name: string | null;
  /** negotiating, authenticating, active (relaying) or closing. */
  state: string;
  /** When the client connected (`backend_start`), ISO 8601. */
  backend_start: string;
  ssl: boolean;
  /** TLS version, e.g. `TLSv1.3`; null without TLS (likewise the fields below). */
  version: string | null;
  cipher: string | null;
  bits: number | null;
  /** ALPN protocol (`postgresql` for direct TLS). */
  alpn: string | null;
  /** Whether the client's certificate verified against ssl_ca_file (and the CRLs); null without one. */
  client_cert_verified: boolean | null;
  /** Client certificate subject (RFC 2253), serial (decimal) and issuer, as in pg_stat_ssl. */
  client_dn: string | null;
  client_serial: string | null;
  issuer_dn: string | null;
  /** The upstream server and the protocol of that leg, e.g. `/run/postgresql/.s.PGSQL.5432 (plaintext)`. */
  upstream: string | null;
  /** The route it took (routes_file; `default` is the main configuration); null without routes. */
  route: string | null;
  /** The PostgreSQL backend's process id (from BackendKeyData). */
  backend_pid: number | null;
}

export function sessionView(record: SessionRecord, pid: number): SessionView {
  const tls = record.tls;
  return {
    id: record.id,
    pid,
    transport: record.transport,
    client_addr: record.clientAddress,
    client_port: record.clientPort ?? null,
    user: record.user ?? null,
    database: record.database ?? null,
    application_name: record.applicationName ?? null,
    state: record.state,
    backend_start: record.startedAt.toISOString(),
    ssl: tls !== undefined,
    version: tls?.version ?? null,
    cipher: tls?.cipher ?? null,
    bits: tls?.bits ?? null,
    alpn: tls?.alpn ?? null,
    client_cert_verified: tls?.client.presented ? tls.client.verified : null,
    client_dn: tls?.client.dn ?? null,
    client_serial: tls?.client.serial ?? null,
    issuer_dn: tls?.client.issuerDn ?? null,
    upstream: record.upstream ?? null,
    route: record.route ?? null,
    backend_pid: record.backendPid ?? null,
  };
}
