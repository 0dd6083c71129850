// `pgtunnel serve` in one process: builds a generation (TLS, access rules, upstream) from a
// configuration snapshot, listens (or is handed connections by the primary of several
// workers), and passes each connection to handleClientConnection. A reload builds the new
// generation first and swaps it in only when every part built; on failure the old one stays.
import type { Socket } from 'node:net';
import { SETTINGS, type SettingName, type Settings } from '../config/settings.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { CertificateEntry } from '../tls/certificate-inventory.js';
import type { TicketKeys } from '../tls/ticket-keys.js';
import { handleClientConnection } from './client-connection.js';
import { type ConfigSnapshot, generationFrom, snapshotWarnings } from './config-snapshot.js';
import { GatewaySessions } from './gateway-sessions.js';
import type {
  AdminConsole,
  ConnectionEnvironment,
  GatewayEvents,
  GatewayGeneration,
} from './generation.js';
import {
  closeListeners,
  gatewayListenSpec,
  type OpenListener,
  openActivatedListeners,
  openListeners,
} from './listeners.js';
import { withProxyHeader } from './proxy-header.js';

export interface GatewayStartOptions {
  snapshot: ConfigSnapshot;
  logger: Logger;
  /** Shared by all workers so TLS session tickets resume across them. */
  ticketKeys?: TicketKeys | undefined;
  events?: GatewayEvents | undefined;
  /**
   * Serves the admin console (virtual database `pgtunnel`): src/admin/console/console-entry.ts,
   * given by whoever starts the gateway.
   */
  adminConsole: AdminConsole;
  /**
   * Where connections come from: the configured addresses (default), sockets inherited from
   * systemd, or none (inetd mode, and workers, whose primary hands connections over to `serve`).
   */
  listen?: 'configured' | { fds: number[] } | 'none';
}

export type ReloadResult =
  | { ok: true; restartNeeded: SettingName[] }
  | { ok: false; error: string };

/** A generation built and checked, not yet serving: `commit` swaps it in. */
export interface PreparedGeneration {
  readonly snapshot: ConfigSnapshot;
  readonly generation: GatewayGeneration;
}

export const noEvents: GatewayEvents = {
  connectionRefused() {},
  sessionStarted() {},
  sessionEnded() {},
  tlsHandshakeFailed() {},
};

export class Gateway {
  private listeners: OpenListener[] = [];
  private shuttingDown = false;
  readonly registry = new GatewaySessions();
  lastReload: { at: Date; ok: boolean; error?: string } | undefined;

  private constructor(
    private snapshot: ConfigSnapshot,
    private generation: GatewayGeneration,
    private readonly logger: Logger,
    private ticketKeys: TicketKeys | undefined,
    private readonly events: GatewayEvents,
  ) {}

  static async start(options: GatewayStartOptions): Promise<Gateway> {
    const { snapshot } = options;
    const gateway = new Gateway(
      snapshot,
      generationFrom(snapshot, options.ticketKeys),
      options.logger,
      options.ticketKeys,
      options.events ?? noEvents,
    );
    const env: ConnectionEnvironment = {
      current: () => gateway.generation,
      registry: gateway.registry,
      logger: options.logger,
      isShuttingDown: () => gateway.shuttingDown,
      events: gateway.events,
      adminConsole: options.adminConsole,
    };
    gateway.handleConnection = (socket, transport) => {
      withProxyHeader(socket, transport, env, handleClientConnection).catch((error: unknown) => {
        options.logger.error(
          { err: describeError(error) },
          'unexpected error in a client connection',
        );
        socket.destroy();
      });
    };
    const onConnection = (socket: Socket, transport: 'tcp' | 'local') =>
      gateway.serve(socket, transport);
    const listen = options.listen ?? 'configured';
    if (listen === 'none') return gateway;
    if (listen !== 'configured') {
      gateway.listeners = await openActivatedListeners(listen.fds, onConnection, options.logger);
      return gateway;
    }
    gateway.listeners = await openListeners(
      gatewayListenSpec(snapshot.settings),
      onConnection,
      options.logger,
    );
    return gateway;
  }

  /** Set while a smart shutdown waits out shutdown_delay; a fast shutdown ends the wait. */
  private delayedStop: { mode: 'smart' | 'fast'; wake(): void } | undefined;

  private handleConnection: ((socket: Socket, transport: 'tcp' | 'local') => void) | undefined;

  /** Serves a connection accepted elsewhere (by the primary of several workers). */
  serve(socket: Socket, transport: 'tcp' | 'local'): void {
    this.handleConnection?.(socket, transport);
  }

  /** Serves one connection handed over from outside (inetd mode); resolves when it ends. */
  handle(socket: Socket): Promise<void> {
    const transport = socket.remoteAddress === undefined ? 'local' : 'tcp';
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    this.serve(socket, transport);
    return closed;
  }

  get settings(): Settings {
    return this.generation.settings;
  }

  /** The number of the configuration load this gateway serves. */
  get currentSnapshot(): ConfigSnapshot {
    return this.snapshot;
  }

  /** The certificates and CRLs the current generation serves and trusts. */
  get certificates(): readonly CertificateEntry[] {
    return this.generation.certificates ?? [];
  }

  addresses(): string[] {
    return this.listeners.map((listener) => listener.description);
  }

  /**
   * Builds the generation of `next` without serving it yet. Restart-only settings keep their
   * running values (so status output tells the truth); the result says which ones changed.
   */
  prepare(
    next: ConfigSnapshot,
  ):
    | { ok: true; prepared: PreparedGeneration; restartNeeded: SettingName[] }
    | { ok: false; error: string } {
    const { snapshot, restartNeeded } = pinRestartSettings(this.snapshot, next);
    try {
      return {
        ok: true,
        prepared: { snapshot, generation: generationFrom(snapshot, this.ticketKeys) },
        restartNeeded,
      };
    } catch (error) {
      return { ok: false, error: describeError(error) };
    }
  }

  /** Serves `prepared` from now on; sessions already open keep the generation they began with. */
  commit(prepared: PreparedGeneration): void {
    this.snapshot = prepared.snapshot;
    this.generation = prepared.generation;
    this.lastReload = { at: new Date(), ok: true };
    this.logger.info({ generation: prepared.snapshot.generation }, 'configuration reloaded');
  }

  /** Records a reload that did not happen (it failed here or in another process). */
  reloadFailed(error: string): void {
    this.lastReload = { at: new Date(), ok: false, error };
  }

  /** Applies `next` in this process alone: prepare, then commit. */
  reload(next: ConfigSnapshot): ReloadResult {
    const result = this.prepare(next);
    if (!result.ok) {
      this.reloadFailed(result.error);
      this.logger.error(
        { err: result.error },
        'reload failed; the previous configuration stays in effect',
      );
      return result;
    }
    warnRestartNeeded(this.logger, result.restartNeeded);
    for (const warning of snapshotWarnings(next)) this.logger.warn({}, warning);
    this.commit(result.prepared);
    return { ok: true, restartNeeded: result.restartNeeded };
  }

  /** New TLS session-ticket keys; handshakes from now on use them. */
  setTicketKeys(keys: TicketKeys): void {
    if (keys.rotation === this.ticketKeys?.rotation) return;
    this.ticketKeys = keys;
    this.generation = generationFrom(this.snapshot, keys);
    this.logger.debug({ rotation: keys.rotation }, 'TLS session-ticket keys rotated');
  }

  /**
   * `smart`: refuse new sessions, let open ones finish up to shutdown_timeout. `fast`: stop
   * accepting and close them now.
   */
  async shutdown(requested: 'smart' | 'fast'): Promise<void> {
    if (this.delayedStop) {
      // A smart shutdown is waiting out shutdown_delay: a fast one takes over at once.
      if (requested === 'fast') {
        this.delayedStop.mode = 'fast';
        this.delayedStop.wake();
      }
      return;
    }
    let mode = requested;
    if (this.shuttingDown) {
      // A second, fast request during a smart shutdown stops accepting and closes what is open.
      if (mode === 'fast') {
        this.stopAccepting();
        await this.registry.terminateAll();
      }
      return;
    }
    if (mode === 'smart' && this.settings.shutdown_delay > 0) {
      // /ready already says 503: keep accepting while balancers take this instance out.
      this.logger.info(
        { delayMs: this.settings.shutdown_delay },
        'not ready; still accepting connections for shutdown_delay',
      );
      const stop: { mode: 'smart' | 'fast'; wake(): void } = { mode, wake() {} };
      this.delayedStop = stop;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.settings.shutdown_delay);
        stop.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.delayedStop = undefined;
      mode = stop.mode;
    }
    this.shuttingDown = true;
    // In a smart shutdown the listeners stay open, so that a new client hears "the database
    // system is shutting down" (57P03) as from PostgreSQL, not a refused connection.
    if (mode === 'fast') {
      this.stopAccepting();
      const closed = await this.registry.terminateAll();
      if (closed > 0)
        this.logger.info({ sessions: closed }, 'terminating sessions (fast shutdown)');
    } else {
      if (this.registry.size > 0) {
        this.logger.info(
          { sessions: this.registry.size, timeoutMs: this.settings.shutdown_timeout },
          'waiting for sessions to finish',
        );
      }
      const { closedByForce } = await this.registry.drain(this.settings.shutdown_timeout);
      if (closedByForce > 0) {
        this.logger.warn(
          { sessions: closedByForce },
          'closed sessions still open after shutdown_timeout',
        );
      }
    }
    const closing = this.stopAccepting();
    // Connections that arrived while the last sessions were told to go.
    await this.registry.terminateAll();
    await closing;
  }

  /**
   * Immediate shutdown (SIGQUIT): stop listening and cut every session at once, without the
   * 57P01 goodbye, as PostgreSQL's backends quit on SIGQUIT.
   */
  abort(): void {
    this.shuttingDown = true;
    this.delayedStop?.wake();
    void this.stopAccepting();
    for (const record of this.registry.list()) this.registry.close(record);
  }

  private closing: Promise<void> | undefined;

  /** Closes the listeners (once); resolves when their connections are gone. */
  private stopAccepting(): Promise<void> {
    this.closing ??= closeListeners(this.listeners);
    return this.closing;
  }
}

/** `next` with the restart-only settings of `running`, and the names of those that differ. */
export function pinRestartSettings(
  running: ConfigSnapshot,
  next: ConfigSnapshot,
): { snapshot: ConfigSnapshot; restartNeeded: SettingName[] } {
  const restartNeeded = (Object.keys(SETTINGS) as SettingName[]).filter(
    (name) =>
      SETTINGS[name].context === 'restart' &&
      JSON.stringify(next.settings[name]) !== JSON.stringify(running.settings[name]),
  );
  const settings = { ...next.settings } as Record<SettingName, unknown>;
  for (const name of restartNeeded) settings[name] = running.settings[name];
  return { snapshot: { ...next, settings: settings as Settings }, restartNeeded };
}

/** Restart-only settings that a reload changed are ignored until a restart, as in PostgreSQL. */
export function warnRestartNeeded(logger: Logger, names: readonly SettingName[]): void {
  for (const name of names) {
    logger.warn(
      { setting: name },
      `parameter "${name}" cannot be changed without restarting the server; the change is ignored until then`,
    );
  }
}
