// The JSON document GET /status returns (documented in docs/metrics.md), and the certificate
// part of it as read back from the certificate metrics. Types and pure functions only, shared by
// the endpoint and the status page.
import { daysLeft } from '../tls/certificate-inventory.js';
import type { Series } from './exposition.js';
import { METRICS } from './metric-names.js';
import type { SessionView } from './session-view.js';
import type { WorkerReport } from './worker-sessions.js';

/** The JSON document GET /status returns (documented in docs/metrics.md). */
export interface StatusDocument {
  state: string;
  started_at: string;
  pid: number;
  workers: number;
  listen_addresses: string[];
  /** The configuration load in effect; counts from 1 and grows with each successful reload. */
  generation: number;
  last_reload: { at: string; ok: boolean; error?: string } | null;
  sessions: SessionView[];
  /** With routes_file: the routes in effect (the main configuration is the route `default`). */
  routes?: RouteStatus[];
  /**
   * With workers > 1: each worker's pid, session count (or why it did not answer) and the
   * generation it serves (null while it starts).
   */
  worker_processes?: Array<WorkerReport & { generation: number | null }>;
  /** E.g. the served certificate expires within ssl_cert_expiry_warning. */
  warnings: string[];
  /** The served certificate, CAs and CRLs in effect (from the certificate metrics). */
  certificates: CertificateStatus[];
  /** The last reloads, oldest first. */
  reload_history: Array<{ at: string; ok: boolean; error?: string }>;
}

/** A certificate or CRL in /status. */
export interface RouteStatus {
  name: string;
  /** file:line of its section. */
  location: string;
  server_name: string[];
  database: string[];
  /** The upstream connection string, passwords masked. */
  upstream: string;
}

export interface CertificateStatus {
  kind: 'served' | 'ca' | 'crl';
  file: string;
  /** Subject DN; for a CRL, its issuer. */
  subject: string;
  serial: string | null;
  /** Not-after (a CRL's next update), ISO 8601. */
  not_after: string;
  days_left: number;
}

const CERTIFICATE_METRICS = [
  ['served', METRICS.serverCertificateNotAfter.name],
  ['ca', METRICS.caCertificateNotAfter.name],
  ['crl', METRICS.crlNextUpdate.name],
] as const;

/** Certificates as the metrics report them, served first, soonest to expire first. */
export function certificatesFromMetrics(series: readonly Series[], now: Date): CertificateStatus[] {
  const found: CertificateStatus[] = [];
  for (const [kind, name] of CERTIFICATE_METRICS) {
    for (const sample of series.filter((s) => s.name === name)) {
      const notAfter = new Date(sample.value * 1000);
      found.push({
        kind,
        file: sample.labels.file ?? '',
        subject: sample.labels.subject ?? sample.labels.issuer ?? '',
        serial: sample.labels.serial ?? null,
        not_after: notAfter.toISOString(),
        days_left: daysLeft(notAfter, now),
      });
    }
  }
  return found;
}
