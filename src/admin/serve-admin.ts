// The admin endpoint of `pgtunnel serve`, wired for both ways it runs. In-process (workers = 1)
// the gateway reports into this process's registry and /status reads its live sessions.
// With workers, each worker keeps its own metrics and sessions; the primary serves HTTP,
// aggregates metrics with prom-client's AggregatorRegistry and asks workers for sessions.
import { AggregatorRegistry, Registry } from 'prom-client';
import type { LoadedConfig } from '../config/load.js';
import type { Gateway } from '../gateway/gateway.js';
import type { GatewayEvents } from '../gateway/generation.js';
import type { ServeController } from '../gateway/supervisor.js';
import type { Logger } from '../log.js';
import type { SocketAddress } from '../net/address.js';
import { type CertificateEntry, expiryWarnings } from '../tls/certificate-inventory.js';
import { adminListenAddress } from './admin-address.js';
import { type AdminServer, startAdminServer } from './admin-server.js';
import { parseExposition, type Series } from './exposition.js';
import { maskPasswords } from './mask-passwords.js';
import { METRICS } from './metric-names.js';
import { GatewayMetrics, ReloadMetrics } from './metrics.js';
import { readiness } from './readiness.js';
import { RefusalHistory } from './refusal-history.js';
import { ServeStatus } from './serve-status.js';
import { type SessionView, sessionView } from './session-view.js';
import {
  type CertificateStatus,
  certificatesFromMetrics,
  type StatusDocument,
} from './status-document.js';
import { renderStatusPage } from './status-page.js';

export type { CertificateStatus, StatusDocument };

import { answerSessionRequests, collectWorkerSessions } from './worker-sessions.js';

/** Seconds between automatic reloads of the status page. */
const STATUS_PAGE_REFRESH_S = 10;

/** How long the primary waits for a worker's sessions before reporting it as not answering. */
const WORKER_ANSWER_TIMEOUT_MS = 2_000;

/** What a serving process (the in-process gateway or a worker) takes from the admin side. */
export interface ServingHooks {
  /** The metrics sink to pass to Gateway.start. */
  events: GatewayEvents;
  /** Called with the gateway once it listens. */
  onStart(gateway: Gateway): void;
}

/**
 * In a worker, when admin_listen is set: a metrics registry the primary can aggregate (prom-client's
 * cluster listener) and answers to the primary's session requests. Call before the gateway starts.
 */
export function workerAdminHooks(): ServingHooks {
  const registry = new Registry();
  const events = new GatewayMetrics(registry);
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one installs prom-client's listener that answers the primary (idempotent).
  new AggregatorRegistry();
  let gateway: Gateway | undefined;
  answerSessionRequests(() => listSessions(gateway));
  return {
    events,
    onStart(started) {
      gateway = started;
      events.observeCertificates(() => started.certificates);
    },
  };
}

function listSessions(gateway: Gateway | undefined): SessionView[] {
  if (!gateway) return [];
  return gateway.registry.list().map((record) => sessionView(record, process.pid));
}

/** How often the refusal counters are sampled for the status page's chart. */
const REFUSAL_SAMPLE_MS = 60_000;

/** The admin endpoint in the main process of `pgtunnel serve`. */
export class ServeAdmin {
  readonly status: ServeStatus;
  private readonly registry = new Registry();
  private inProcessGateway: Gateway | undefined;
  private server: AdminServer | undefined;
  private readonly refusals = new RefusalHistory();
  private sampler: NodeJS.Timeout | undefined;

  private constructor(
    private readonly address: SocketAddress,
    /** ssl_cert_expiry_warning at start; the in-process gateway's current value wins. */
    private readonly expiryWarningMs: number,
  ) {
    const startedAt = new Date();
    const reloads = new ReloadMetrics(this.registry, startedAt);
    this.status = new ServeStatus((record) => reloads.reloaded(record.ok, record.at), startedAt);
  }

  /**
   * Checks admin_listen (throws ConfigError for a bad or non-loopback address without
   * admin_listen_unsafe); undefined when the endpoint is off. Call before binding anything.
   */
  static prepare(config: LoadedConfig): ServeAdmin | undefined {
    const address = adminListenAddress(config);
    return address ? new ServeAdmin(address, config.settings.ssl_cert_expiry_warning) : undefined;
  }

  /** For workers = 1: pass these to the in-process gateway. */
  inProcessHooks(): ServingHooks {
    const events = new GatewayMetrics(this.registry);
    return {
      events,
      onStart: (gateway) => {
        this.inProcessGateway = gateway;
        events.observeCertificates(() => gateway.certificates);
      },
    };
  }

  /**
   * Starts the HTTP endpoint once the gateway is ready. Returns `controller` wrapped so that
   * /status and /health see its reloads and its shutdown: drive the returned one.
   */
  async start(
    controller: ServeController,
    options: { workers: number; logger: Logger },
  ): Promise<ServeController> {
    const tracked = this.status.track(controller);
    const aggregator = options.workers > 1 ? new AggregatorRegistry() : undefined;
    const metricsText = async () => {
      const own = await this.registry.metrics();
      const workers = aggregator ? await aggregator.clusterMetrics() : '';
      return joinExpositions(own, workers);
    };
    const status = async () => {
      const series = parseExposition(await metricsText());
      this.sampleRefusals(series);
      return this.statusDocument(controller, options.workers, series);
    };
    this.server = await startAdminServer(
      this.address,
      {
        state: () => this.status.state,
        ready: () => readiness(this.status.state, controller.addresses().length),
        status,
        metrics: async () => ({
          contentType: this.registry.contentType,
          body: await metricsText(),
        }),
        page: async () =>
          renderStatusPage({
            status: await status(),
            refusals: this.refusals.buckets(new Date()),
            refreshSeconds: STATUS_PAGE_REFRESH_S,
            now: new Date(),
          }),
      },
      options.logger,
    );
    const sample = () => {
      metricsText()
        .then((text) => this.sampleRefusals(parseExposition(text)))
        .catch(() => {});
    };
    sample();
    this.sampler = setInterval(sample, REFUSAL_SAMPLE_MS);
    this.sampler.unref();
    return tracked;
  }

  async close(): Promise<void> {
    clearInterval(this.sampler);
    await this.server?.close();
    this.server = undefined;
  }

  /** Refused connections and failed handshakes by reason, as totals for the chart. */
  private sampleRefusals(series: readonly Series[]): void {
    const totals = new Map<string, number>();
    for (const sample of series) {
      if (sample.name === METRICS.connectionsRefused.name && sample.labels.reason) {
        totals.set(sample.labels.reason, (totals.get(sample.labels.reason) ?? 0) + sample.value);
      } else if (sample.name === METRICS.tlsHandshakeFailures.name && sample.labels.reason) {
        const key = `tls_${sample.labels.reason}`;
        totals.set(key, (totals.get(key) ?? 0) + sample.value);
      }
    }
    this.refusals.record(new Date(), totals);
  }

  private async statusDocument(
    controller: ServeController,
    workers: number,
    series: readonly Series[],
  ): Promise<StatusDocument> {
    const now = new Date();
    const certificates = certificatesFromMetrics(series, now);
    const threshold =
      this.inProcessGateway?.settings.ssl_cert_expiry_warning ?? this.expiryWarningMs;
    const served: CertificateEntry[] = certificates
      .filter((c) => c.kind === 'served')
      .map((c) => ({
        kind: 'served',
        file: c.file,
        subject: c.subject,
        issuer: '',
        serial: c.serial ?? '',
        notAfter: new Date(c.not_after),
      }));
    const last = this.status.lastReload;
    const document: StatusDocument = {
      state: this.status.state,
      started_at: this.status.startedAt.toISOString(),
      pid: process.pid,
      workers,
      listen_addresses: controller.addresses(),
      generation: controller.current().generation,
      last_reload: last
        ? {
            at: last.at.toISOString(),
            ok: last.ok,
            ...(last.error === undefined ? {} : { error: last.error }),
          }
        : null,
      sessions: [],
      ...routesStatus(controller),
      warnings: expiryWarnings(served, threshold, now),
      certificates,
      reload_history: this.status.reloadHistory.map((r) => ({
        at: r.at.toISOString(),
        ok: r.ok,
        ...(r.error === undefined ? {} : { error: r.error }),
      })),
    };
    if (workers > 1) {
      const collected = await collectWorkerSessions(WORKER_ANSWER_TIMEOUT_MS);
      document.sessions = collected.sessions;
      const generations = controller.workerGenerations?.() ?? new Map<number, number>();
      document.worker_processes = collected.workers.map((report) => ({
        ...report,
        generation: (report.pid === undefined ? undefined : generations.get(report.pid)) ?? null,
      }));
    } else {
      document.sessions = listSessions(this.inProcessGateway);
    }
    return document;
  }
}

/** Two Prometheus text expositions with distinct metric names, as one. */
function joinExpositions(first: string, second: string): string {
  const parts = [first, second].map((text) => text.trim()).filter((text) => text !== '');
  return parts.length === 0 ? '' : `${parts.join('\n')}\n`;
}

/** The routes of the configuration in effect, for /status; nothing without routes_file. */
function routesStatus(controller: ServeController): Pick<StatusDocument, 'routes'> {
  const routes = controller.current().routes;
  if (!routes) return {};
  return {
    routes: routes.routes.map((route) => ({
      name: route.name,
      location: route.location,
      server_name: route.serverNames,
      database: route.databases,
      upstream: maskPasswords(route.settings.upstream),
    })),
  };
}
