// The admin endpoint of `pgtunnel serve`, wired for both ways it runs. In-process (workers = 1)
// the gateway reports into this process's registry and /status reads its session registry.
// With workers, each worker keeps its own metrics and sessions; the primary serves HTTP,
// aggregates metrics with prom-client's AggregatorRegistry and asks workers for sessions.
import { AggregatorRegistry, Registry } from 'prom-client';
import type { LoadedConfig } from '../config/load.js';
import type { Gateway } from '../gateway/gateway.js';
import type { GatewayEvents } from '../gateway/generation.js';
import type { ServeController } from '../gateway/supervisor.js';
import type { Logger } from '../log.js';
import type { SocketAddress } from '../net/address.js';
import { adminListenAddress } from './admin-address.js';
import { type AdminServer, startAdminServer } from './admin-server.js';
import { GatewayMetrics, ReloadMetrics } from './metrics.js';
import { ServeStatus } from './serve-status.js';
import { type SessionView, sessionView } from './session-view.js';
import {
  answerSessionRequests,
  collectWorkerSessions,
  type WorkerReport,
} from './worker-sessions.js';

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
    },
  };
}

function listSessions(gateway: Gateway | undefined): SessionView[] {
  if (!gateway) return [];
  return gateway.registry.list().map((record) => sessionView(record, process.pid));
}

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
  /**
   * With workers > 1: each worker's pid, session count (or why it did not answer) and the
   * generation it serves (null while it starts).
   */
  worker_processes?: Array<WorkerReport & { generation: number | null }>;
}

/** The admin endpoint in the main process of `pgtunnel serve`. */
export class ServeAdmin {
  readonly status: ServeStatus;
  private readonly registry = new Registry();
  private inProcessGateway: Gateway | undefined;
  private server: AdminServer | undefined;

  private constructor(private readonly address: SocketAddress) {
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
    return address ? new ServeAdmin(address) : undefined;
  }

  /** For workers = 1: pass these to the in-process gateway. */
  inProcessHooks(): ServingHooks {
    return {
      events: new GatewayMetrics(this.registry),
      onStart: (gateway) => {
        this.inProcessGateway = gateway;
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
    this.server = await startAdminServer(
      this.address,
      {
        state: () => this.status.state,
        status: () => this.statusDocument(controller, options.workers),
        metrics: async () => {
          const own = await this.registry.metrics();
          const workers = aggregator ? await aggregator.clusterMetrics() : '';
          return { contentType: this.registry.contentType, body: joinExpositions(own, workers) };
        },
      },
      options.logger,
    );
    return tracked;
  }

  async close(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
  }

  private async statusDocument(
    controller: ServeController,
    workers: number,
  ): Promise<StatusDocument> {
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
