// Runs the gateway on several cores with node:cluster: the primary owns signals and the
// listening sockets, workers serve connections. All workers share TLS session-ticket keys, so
// a client resumes its session whichever worker it reaches. A crashed worker is replaced.
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import type { LoadedConfig } from '../config/load.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { Gateway } from './gateway.js';
import type { GatewayEvents } from './generation.js';

/** What the CLI drives, whether the gateway runs in-process or over workers. */
export interface ServeController {
  addresses(): string[];
  /** Re-reads the configuration; on failure the running one stays. */
  reload(): Promise<{ ok: boolean; error?: string }>;
  shutdown(mode: 'smart' | 'fast'): Promise<void>;
}

type ToWorker = { type: 'reload' } | { type: 'shutdown'; mode: 'smart' | 'fast' };
type ToPrimary =
  | { type: 'ready'; addresses: string[] }
  | { type: 'reloaded'; ok: boolean; error?: string }
  | { type: 'start-failed'; error: string };

const TICKET_KEYS_ENV = 'PGTUNNEL_TICKET_KEYS';

/** What the admin endpoint plugs into a serving process (in-process or a worker). */
export interface ServingOptions {
  /** Metrics sink for the gateway; none when metrics are off. */
  events?: GatewayEvents | undefined;
  /** Called with the gateway once it listens (the status page lists its sessions). */
  onStart?: ((gateway: Gateway) => void) | undefined;
  /** Inherited listening sockets (systemd socket activation) instead of the configured ones. */
  listenFds?: number[] | undefined;
}

/** In-process gateway (workers = 1). */
export async function serveInProcess(
  load: () => LoadedConfig,
  logger: Logger,
  serving: ServingOptions = {},
): Promise<ServeController> {
  const gateway = await Gateway.start({
    config: load(),
    logger,
    events: serving.events,
    ...(serving.listenFds?.length ? { listen: { fds: serving.listenFds } } : {}),
  });
  serving.onStart?.(gateway);
  return {
    addresses: () => gateway.addresses(),
    async reload() {
      let next: LoadedConfig;
      try {
        next = load();
      } catch (error) {
        const message = describeError(error);
        logger.error({ err: message }, 'reload failed; the previous configuration stays in effect');
        return { ok: false, error: message };
      }
      const result = await gateway.reload(next);
      return result.ok ? { ok: true } : { ok: false, error: result.error };
    },
    shutdown: (mode) => gateway.shutdown(mode),
  };
}

/** The primary: forks `count` workers and waits until each listens. */
export async function superviseWorkers(
  count: number,
  load: () => LoadedConfig,
  logger: Logger,
): Promise<ServeController> {
  const ticketKeys = randomBytes(48).toString('hex');
  let stopping = false;
  let addresses: string[] = [];
  const workers = new Set<Worker>();

  const fork = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const worker = cluster.fork({ [TICKET_KEYS_ENV]: ticketKeys });
      workers.add(worker);
      const onMessage = (message: ToPrimary) => {
        if (message.type === 'ready') {
          addresses = message.addresses;
          resolve();
        } else if (message.type === 'start-failed') {
          reject(new Error(message.error));
        }
      };
      worker.on('message', onMessage);
      worker.once('exit', (code, signal) => {
        workers.delete(worker);
        if (stopping) return;
        logger.error(
          { worker: worker.process.pid, code, signal },
          'worker exited unexpectedly; starting a new one',
        );
        reject(new Error(`worker exited during start-up (code ${code})`));
        setTimeout(() => {
          if (!stopping)
            fork().catch((error: unknown) =>
              logger.error({ err: describeError(error) }, 'could not restart a worker'),
            );
        }, 1000).unref();
      });
    });

  try {
    await Promise.all(Array.from({ length: count }, fork));
  } catch (error) {
    stopping = true;
    for (const worker of workers) worker.kill();
    throw error;
  }

  const broadcast = (message: ToWorker) => {
    for (const worker of workers) worker.send(message);
  };

  return {
    addresses: () => addresses,
    async reload() {
      try {
        load(); // validate once here, so a broken file is reported once, not per worker
      } catch (error) {
        const message = describeError(error);
        logger.error({ err: message }, 'reload failed; the previous configuration stays in effect');
        return { ok: false, error: message };
      }
      const replies = [...workers].map(
        (worker) =>
          new Promise<ToPrimary>((resolve) => {
            const onMessage = (message: ToPrimary) => {
              if (message.type !== 'reloaded') return;
              worker.off('message', onMessage);
              resolve(message);
            };
            worker.on('message', onMessage);
          }),
      );
      broadcast({ type: 'reload' });
      const results = await Promise.all(replies);
      const failed = results.find((r) => r.type === 'reloaded' && !r.ok);
      return failed && failed.type === 'reloaded'
        ? { ok: false, error: failed.error ?? 'reload failed' }
        : { ok: true };
    },
    async shutdown(mode) {
      stopping = true;
      const exits = [...workers].map(
        (worker) => new Promise<void>((resolve) => worker.once('exit', () => resolve())),
      );
      broadcast({ type: 'shutdown', mode });
      await Promise.all(exits);
    },
  };
}

/** A worker: starts a gateway and obeys the primary. Resolves when the worker may exit. */
export async function runWorker(
  load: () => LoadedConfig,
  logger: Logger,
  serving: ServingOptions = {},
): Promise<void> {
  const send = (message: ToPrimary) => process.send?.(message);
  let gateway: Gateway;
  try {
    const keys = process.env[TICKET_KEYS_ENV];
    gateway = await Gateway.start({
      config: load(),
      logger,
      ticketKeys: keys ? Buffer.from(keys, 'hex') : undefined,
      events: serving.events,
    });
  } catch (error) {
    send({ type: 'start-failed', error: describeError(error) });
    return;
  }
  serving.onStart?.(gateway);
  send({ type: 'ready', addresses: gateway.addresses() });
  await new Promise<void>((resolve) => {
    process.on('message', (message: ToWorker) => {
      if (message.type === 'reload') {
        let next: LoadedConfig;
        try {
          next = load();
        } catch (error) {
          send({ type: 'reloaded', ok: false, error: describeError(error) });
          return;
        }
        gateway
          .reload(next)
          .then((result) =>
            send(
              result.ok
                ? { type: 'reloaded', ok: true }
                : { type: 'reloaded', ok: false, error: result.error },
            ),
          );
      } else if (message.type === 'shutdown') {
        gateway.shutdown(message.mode).then(resolve);
      }
    });
    // Signals go to the primary, which tells workers what to do.
    process.on('SIGINT', () => {});
    process.on('SIGTERM', () => {});
    process.on('SIGHUP', () => {});
  });
}
