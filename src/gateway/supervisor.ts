// Runs the gateway in one process, or on several cores with node:cluster (the workers' side is
// worker.ts). The primary owns signals, the configuration and the listening sockets (TCP and unix alike, created once); it accepts each
// connection and hands it to a worker (connection-handoff.ts). It reads and checks every file
// once per load and sends workers the result, in two steps — prepare everywhere, then commit
// everywhere — so a generation is served by all workers or by none. A worker that starts gets
// the current generation before it is given a connection; a crashed worker is replaced. All
// workers share TLS session-ticket keys (sent over IPC, never through the environment), so a
// client resumes its session whichever worker it reaches.
import cluster, { type Worker } from 'node:cluster';
import type { LoadedConfig } from '../config/load.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { newTicketKeys, rotateTicketKeys, type TicketKeys } from '../tls/ticket-keys.js';
import { type ConfigSnapshot, loadSnapshot, snapshotWarnings } from './config-snapshot.js';
import {
  ConnectionHandoff,
  HANDOFF_TAKEN,
  type HandoffTakenMessage,
} from './connection-handoff.js';
import { Gateway, pinRestartSettings, warnRestartNeeded } from './gateway.js';
import type { AdminConsole, GatewayEvents } from './generation.js';
import { closeListeners, gatewayListenSpec, openHandOffListeners } from './listeners.js';
import { packForWorker, type ToPrimary, type ToWorker } from './worker-messages.js';

/** What the CLI drives, whether the gateway runs in-process or over workers. */
export interface ServeController {
  addresses(): string[];
  /** Re-reads the configuration; on failure the running one stays. */
  reload(): Promise<{ ok: boolean; error?: string }>;
  shutdown(mode: 'smart' | 'fast'): Promise<void>;
  /** Immediate shutdown: stop listening and cut every session (workers are killed) now. */
  abort(): void;
  /** The configuration load in effect (its generation number, the files to watch). */
  current(): ConfigSnapshot;
  /** With workers: the generation each worker serves, by pid. */
  workerGenerations?(): Map<number, number | undefined>;
}

/** What the admin endpoint plugs into a serving process (in-process or a worker). */
export interface ServingOptions {
  /** Metrics sink for the gateway; none when metrics are off. */
  events?: GatewayEvents | undefined;
  /** Called with the gateway once it listens (the status page lists its sessions). */
  onStart?: ((gateway: Gateway) => void) | undefined;
  /** Inherited listening sockets (systemd socket activation) instead of the configured ones. */
  listenFds?: number[] | undefined;
  /** Serves the admin console (virtual database `pgtunnel`). */
  adminConsole: AdminConsole;
}

/** How long a worker may take to answer a prepare or commit before it is replaced. */
const WORKER_REPLY_TIMEOUT_MS = 30_000;
/** Beyond shutdown_timeout, how long workers get to exit before they are killed. */
const SHUTDOWN_GRACE_MS = 5_000;
/** Pause before replacing a worker that exited, so a crash loop does not spin. */
const RESTART_DELAY_MS = 1_000;

/** Loads the next generation; logs and returns the error when a file is broken. */
async function loadNext(
  load: () => LoadedConfig,
  current: ConfigSnapshot,
  logger: Logger,
): Promise<{ ok: true; snapshot: ConfigSnapshot } | { ok: false; error: string }> {
  try {
    const snapshot = await loadSnapshot(load(), {
      generation: current.generation + 1,
      isReload: true,
    });
    return { ok: true, snapshot };
  } catch (error) {
    const message = describeError(error);
    logger.error({ err: message }, 'reload failed; the previous configuration stays in effect');
    return { ok: false, error: message };
  }
}

/** In-process gateway (workers = 1). */
export async function serveInProcess(
  load: () => LoadedConfig,
  initial: ConfigSnapshot,
  logger: Logger,
  serving: ServingOptions,
): Promise<ServeController> {
  let ticketKeys = newTicketKeys();
  const gateway = await Gateway.start({
    snapshot: initial,
    logger,
    ticketKeys,
    events: serving.events,
    adminConsole: serving.adminConsole,
    ...(serving.listenFds?.length ? { listen: { fds: serving.listenFds } } : {}),
  });
  serving.onStart?.(gateway);
  const rotation = setInterval(() => {
    ticketKeys = rotateTicketKeys(ticketKeys);
    gateway.setTicketKeys(ticketKeys);
  }, initial.settings.ssl_ticket_key_rotation);
  rotation.unref();
  return {
    addresses: () => gateway.addresses(),
    async reload() {
      const next = await loadNext(load, gateway.currentSnapshot, logger);
      if (!next.ok) {
        gateway.reloadFailed(next.error);
        return next;
      }
      const result = gateway.reload(next.snapshot);
      return result.ok ? { ok: true } : { ok: false, error: result.error };
    },
    shutdown: (mode) => {
      clearInterval(rotation);
      return gateway.shutdown(mode);
    },
    abort: () => {
      clearInterval(rotation);
      gateway.abort();
    },
    current: () => gateway.currentSnapshot,
  };
}

interface WorkerSlot {
  worker: Worker;
  /** starting: forked, not yet serving; serving: given connections; leaving: told to stop. */
  state: 'starting' | 'serving' | 'leaving';
  /** The generation it serves (after `ready` or a `committed`). */
  generation: number | undefined;
  /** It was sent `start`: later ticket keys go to it too. */
  started: boolean;
}

/** The primary: listens, forks `count` workers and waits until each serves. */
export async function superviseWorkers(
  count: number,
  load: () => LoadedConfig,
  initial: ConfigSnapshot,
  logger: Logger,
): Promise<ServeController> {
  let current = initial;
  let ticketKeys: TicketKeys = newTicketKeys();
  let stopping: 'smart' | 'fast' | undefined;
  const slots = new Map<Worker, WorkerSlot>();
  const handoff = new ConnectionHandoff(logger);
  const listeners = await openHandOffListeners(
    gatewayListenSpec(initial.settings),
    (handle, transport) => handoff.dispatch(handle, transport),
    logger,
  );

  const send = (slot: WorkerSlot, message: ToWorker) => {
    if (!slot.worker.isConnected()) return;
    // A closed channel is reported by the worker's exit; the callback keeps it from throwing.
    slot.worker.send(packForWorker(message), undefined, undefined, () => {});
  };

  /** Waits for the worker's reply of `type` about `generation`; undefined if it exits or times out. */
  const reply = <T extends ToPrimary>(
    slot: WorkerSlot,
    type: T['type'],
    generation: number,
  ): Promise<T | undefined> =>
    new Promise((resolve) => {
      const onMessage = (message: ToPrimary) => {
        if (
          message?.type !== type ||
          (message as { generation?: number }).generation !== generation
        )
          return;
        done(message as T);
      };
      const onExit = () => done(undefined);
      const timer = setTimeout(() => {
        logger.error(
          { worker: slot.worker.process.pid, generation, waitedMs: WORKER_REPLY_TIMEOUT_MS },
          'a worker did not answer a reload in time; replacing it',
        );
        slot.worker.process.kill('SIGKILL');
        done(undefined);
      }, WORKER_REPLY_TIMEOUT_MS);
      const done = (value: T | undefined) => {
        clearTimeout(timer);
        slot.worker.off('message', onMessage);
        slot.worker.off('exit', onExit);
        resolve(value);
      };
      slot.worker.on('message', onMessage);
      slot.worker.once('exit', onExit);
    });

  /** Prepare + commit of `snapshot` on one worker; true when it serves it. */
  const bringUpToDate = async (slot: WorkerSlot, snapshot: ConfigSnapshot): Promise<boolean> => {
    const prepared = reply<Extract<ToPrimary, { type: 'pgtunnel:prepared' }>>(
      slot,
      'pgtunnel:prepared',
      snapshot.generation,
    );
    send(slot, { type: 'pgtunnel:prepare', snapshot });
    const answer = await prepared;
    if (!answer?.ok) {
      if (answer) slot.worker.process.kill('SIGKILL');
      return false;
    }
    const committed = reply(slot, 'pgtunnel:committed', snapshot.generation);
    send(slot, { type: 'pgtunnel:commit', generation: snapshot.generation });
    if (!(await committed)) return false;
    slot.generation = snapshot.generation;
    return true;
  };

  /** A worker that reported ready on an older generation catches up before it serves. */
  const admit = async (slot: WorkerSlot) => {
    while (slot.generation !== current.generation && slot.state === 'starting') {
      if (!(await bringUpToDate(slot, current))) return;
    }
    if (slot.state !== 'starting') return;
    slot.state = 'serving';
    handoff.add(slot.worker);
    logger.debug(
      { worker: slot.worker.process.pid, generation: slot.generation },
      'worker serves connections',
    );
    if (stopping) leave(slot, stopping);
  };

  const leave = (slot: WorkerSlot, mode: 'smart' | 'fast') => {
    slot.state = 'leaving';
    send(slot, { type: 'pgtunnel:shutdown', mode });
  };

  const fork = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const worker = cluster.fork();
      const slot: WorkerSlot = {
        worker,
        state: 'starting',
        generation: undefined,
        started: false,
      };
      slots.set(worker, slot);
      worker.on('message', (message: ToPrimary | HandoffTakenMessage) => {
        switch (message?.type) {
          case HANDOFF_TAKEN:
            handoff.taken(message.id);
            break;
          case 'pgtunnel:hello':
            if (stopping) leave(slot, stopping);
            else {
              slot.started = true;
              send(slot, { type: 'pgtunnel:start', snapshot: current, ticketKeys });
            }
            break;
          case 'pgtunnel:ready':
            slot.generation = message.generation;
            admit(slot).then(resolve, resolve);
            break;
          case 'pgtunnel:start-failed':
            reject(new Error(message.error));
            break;
        }
      });
      worker.once('exit', (code, signal) => {
        slots.delete(worker);
        handoff.remove(worker);
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
        }, RESTART_DELAY_MS).unref();
      });
    });

  const rotation = setInterval(() => {
    ticketKeys = rotateTicketKeys(ticketKeys);
    logger.debug({ rotation: ticketKeys.rotation }, 'TLS session-ticket keys rotated');
    for (const slot of slots.values())
      if (slot.started) send(slot, { type: 'pgtunnel:ticket-keys', ticketKeys });
  }, initial.settings.ssl_ticket_key_rotation);
  rotation.unref();

  try {
    await Promise.all(Array.from({ length: count }, fork));
  } catch (error) {
    clearInterval(rotation);
    stopping = 'fast';
    for (const worker of slots.keys()) worker.process.kill('SIGKILL');
    await closeListeners(listeners);
    throw error;
  }

  let shutdownDone: Promise<void> | undefined;
  return {
    addresses: () => listeners.map((listener) => listener.description),
    current: () => current,
    workerGenerations: () =>
      new Map([...slots.values()].map((slot) => [slot.worker.process.pid ?? 0, slot.generation])),
    async reload() {
      const next = await loadNext(load, current, logger);
      if (!next.ok) return next;
      // Restart-only settings keep their running values, for every worker alike.
      const pinned = pinRestartSettings(current, next.snapshot);
      warnRestartNeeded(logger, pinned.restartNeeded);
      for (const warning of snapshotWarnings(pinned.snapshot)) logger.warn({}, warning);
      const snapshot = pinned.snapshot;
      // Workers still starting are not asked: they catch up before they serve.
      const serving = [...slots.values()].filter((slot) => slot.state === 'serving');
      const answers = await Promise.all(
        serving.map(async (slot) => {
          const answer = reply<Extract<ToPrimary, { type: 'pgtunnel:prepared' }>>(
            slot,
            'pgtunnel:prepared',
            snapshot.generation,
          );
          send(slot, { type: 'pgtunnel:prepare', snapshot });
          return { slot, answer: await answer };
        }),
      );
      const failed = answers.find(({ answer }) => answer !== undefined && !answer.ok);
      if (failed) {
        for (const slot of serving)
          send(slot, { type: 'pgtunnel:abort', generation: snapshot.generation });
        const error = failed.answer?.error ?? 'a worker could not build the configuration';
        logger.error(
          { err: error, worker: failed.slot.worker.process.pid },
          'reload failed; the previous configuration stays in effect',
        );
        return { ok: false, error };
      }
      current = snapshot;
      await Promise.all(
        answers
          .filter(({ answer }) => answer?.ok)
          .map(async ({ slot }) => {
            const committed = reply(slot, 'pgtunnel:committed', snapshot.generation);
            send(slot, { type: 'pgtunnel:commit', generation: snapshot.generation });
            if (await committed) slot.generation = snapshot.generation;
          }),
      );
      // A worker that began serving while this reload was prepared catches up now.
      for (const slot of slots.values()) {
        if (slot.state === 'serving' && slot.generation !== current.generation)
          await bringUpToDate(slot, current);
      }
      return { ok: true };
    },
    abort() {
      // As PostgreSQL's postmaster on SIGQUIT: the children go at once, their sessions with them.
      stopping = 'fast';
      clearInterval(rotation);
      for (const worker of slots.keys()) worker.process.kill('SIGKILL');
      void closeListeners(listeners);
      handoff.closeAll();
    },
    shutdown(mode) {
      const escalate = stopping === 'smart' && mode === 'fast';
      if (stopping && !escalate) return shutdownDone ?? Promise.resolve();
      stopping = mode;
      clearInterval(rotation);
      for (const slot of slots.values()) {
        // A worker that has not said hello yet is told when it does.
        if (slot.state !== 'starting' || slot.generation !== undefined) leave(slot, mode);
      }
      if (mode === 'fast') closeListeners(listeners).catch(() => {});
      if (escalate && shutdownDone) return shutdownDone;
      const limitMs =
        (mode === 'smart'
          ? current.settings.shutdown_delay + current.settings.shutdown_timeout
          : 0) + SHUTDOWN_GRACE_MS;
      shutdownDone = (async () => {
        const exits = [...slots.keys()].map(
          (worker) =>
            new Promise<void>((resolve) => {
              if (worker.isDead()) resolve();
              else worker.once('exit', () => resolve());
            }),
        );
        const timer = setTimeout(() => {
          const left = [...slots.keys()];
          if (left.length === 0) return;
          logger.warn(
            { workers: left.map((worker) => worker.process.pid), waitedMs: limitMs },
            'workers still running after shutdown_timeout; killing them',
          );
          for (const worker of left) worker.process.kill('SIGKILL');
        }, limitMs);
        await Promise.all(exits);
        clearTimeout(timer);
        // Until now, new connections reached workers that answered "shutting down" (57P03).
        await closeListeners(listeners);
        handoff.closeAll();
      })();
      return shutdownDone;
    },
  };
}
