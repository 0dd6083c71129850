// prom-client metrics built from the table in metric-names.ts: GatewayMetrics is the gateway's
// event sink in each serving process, ReloadMetrics records reloads in the main process.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { GatewayEvents } from '../gateway/generation.js';
import type { CertificateEntry } from '../tls/certificate-inventory.js';
import type { HandshakeFailureReason } from '../tls/handshake-failure.js';
import {
  HANDSHAKE_FAILURE_REASONS,
  METRICS,
  type MetricSpec,
  REFUSAL_REASONS,
  RELOAD_RESULTS,
} from './metric-names.js';

function counter<L extends string>(spec: MetricSpec, registry: Registry): Counter<L> {
  return new Counter<L>({
    name: spec.name,
    help: spec.help,
    labelNames: spec.labels as L[],
    registers: [registry],
    aggregator: spec.aggregation,
  });
}

function gauge<L extends string = string>(
  spec: MetricSpec,
  registry: Registry,
  collect?: (this: Gauge<L>) => void,
): Gauge<L> {
  return new Gauge<L>({
    name: spec.name,
    help: spec.help,
    labelNames: spec.labels as L[],
    registers: [registry],
    aggregator: spec.aggregation,
    ...(collect ? { collect } : {}),
  });
}

/** The gateway's events counted in Prometheus metrics (registered in `registry`). */
export class GatewayMetrics implements GatewayEvents {
  private readonly accepted: Counter<'tls'>;
  private readonly refused: Counter<'reason'>;
  private readonly active: Gauge;
  private readonly handshakeFailures: Counter<'reason'>;
  private certificates: () => readonly CertificateEntry[] = () => [];
  private readonly routeAccepted: Counter<'route'>;
  private readonly routeActive: Gauge<'route'>;
  private readonly bytesReceived: Counter;
  private readonly bytesSent: Counter;

  constructor(registry: Registry) {
    this.accepted = counter(METRICS.connectionsAccepted, registry);
    this.refused = counter(METRICS.connectionsRefused, registry);
    this.active = gauge(METRICS.sessionsActive, registry);
    this.handshakeFailures = counter(METRICS.tlsHandshakeFailures, registry);
    this.routeAccepted = counter(METRICS.routeConnectionsAccepted, registry);
    this.routeActive = gauge(METRICS.routeSessionsActive, registry);
    this.bytesReceived = counter(METRICS.clientBytesReceived, registry);
    this.bytesSent = counter(METRICS.clientBytesSent, registry);
    // Known label values start at 0, so the series exist before the first event.
    for (const tls of ['true', 'false']) this.accepted.inc({ tls }, 0);
    for (const reason of Object.keys(REFUSAL_REASONS)) this.refused.inc({ reason }, 0);
    for (const reason of Object.keys(HANDSHAKE_FAILURE_REASONS))
      this.handshakeFailures.inc({ reason }, 0);
    // Certificate gauges are rebuilt at each scrape from the generation in effect, so a
    // certificate replaced by a reload drops out and its successor appears.
    const inventory = () => this.certificates();
    gauge<'file' | 'subject' | 'serial'>(METRICS.serverCertificateNotAfter, registry, function () {
      setCertificates(this, inventory(), 'served');
    });
    gauge<'file' | 'subject' | 'serial'>(METRICS.caCertificateNotAfter, registry, function () {
      setCertificates(this, inventory(), 'ca');
    });
    gauge<'file' | 'issuer'>(METRICS.crlNextUpdate, registry, function () {
      this.reset();
      for (const item of inventory()) {
        if (item.kind === 'crl' && item.notAfter)
          this.set({ file: item.file, issuer: item.issuer }, item.notAfter.getTime() / 1000);
      }
    });
  }

  /** Where the certificate gauges read the certificates in effect (the running gateway). */
  observeCertificates(source: () => readonly CertificateEntry[]): void {
    this.certificates = source;
  }

  connectionRefused(reason: string): void {
    this.refused.inc({ reason });
  }

  sessionStarted(tls: boolean, route?: string): void {
    this.accepted.inc({ tls: String(tls) });
    this.active.inc();
    // Route names come from the configuration, so these series stay few.
    if (route !== undefined) {
      this.routeAccepted.inc({ route });
      this.routeActive.inc({ route });
    }
  }

  sessionEnded(bytesIn: number, bytesOut: number, route?: string): void {
    this.active.dec();
    if (route !== undefined) this.routeActive.dec({ route });
    this.bytesReceived.inc(bytesIn);
    this.bytesSent.inc(bytesOut);
  }

  tlsHandshakeFailed(reason: HandshakeFailureReason): void {
    this.handshakeFailures.inc({ reason });
  }
}

function setCertificates(
  metric: Gauge<'file' | 'subject' | 'serial'>,
  entries: readonly CertificateEntry[],
  kind: 'served' | 'ca',
): void {
  metric.reset();
  for (const item of entries) {
    if (item.kind !== kind || !item.notAfter) continue;
    metric.set(
      { file: item.file, subject: item.subject, serial: item.serial },
      item.notAfter.getTime() / 1000,
    );
  }
}

/** Reload outcomes, kept by the process that receives reload requests. */
export class ReloadMetrics {
  private readonly reloads: Counter<'result'>;
  private readonly lastOk: Gauge;
  private readonly lastSuccess: Gauge;

  constructor(registry: Registry, loadedAt: Date) {
    this.reloads = counter(METRICS.reloads, registry);
    this.lastOk = gauge(METRICS.lastReloadSuccessful, registry);
    this.lastSuccess = gauge(METRICS.lastReloadSuccessTimestamp, registry);
    for (const result of RELOAD_RESULTS) this.reloads.inc({ result }, 0);
    this.lastOk.set(1);
    this.lastSuccess.set(loadedAt.getTime() / 1000);
  }

  reloaded(ok: boolean, at: Date): void {
    this.reloads.inc({ result: ok ? 'success' : 'failure' });
    this.lastOk.set(ok ? 1 : 0);
    if (ok) this.lastSuccess.set(at.getTime() / 1000);
  }
}
