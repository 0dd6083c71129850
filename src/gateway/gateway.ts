// `pgtunnel serve` in one process: builds a generation (TLS, access rules, upstream) from the
// settings, listens, and hands each connection to handleClientConnection. A reload builds a
// new generation and swaps it in only when every part loaded; on failure the old one stays.
import type { Socket } from 'node:net';
import type { LoadedConfig } from '../config/load.js';
import { SETTINGS, type SettingName, type Settings } from '../config/settings.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { loadServerTls } from '../tls/server-tls.js';
import { TlsAcceptor } from '../tls/tls-acceptor.js';
import { builtInAccessPolicy } from './access-policy.js';
import { handleClientConnection } from './client-connection.js';
import type { ConnectionEnvironment, GatewayEvents, GatewayGeneration } from './generation.js';
import { loadHbaPolicy } from './hba-policy.js';
import {
  closeListeners,
  type OpenListener,
  openActivatedListeners,
  openListeners,
} from './listeners.js';
import { SessionRegistry } from './session-registry.js';
import { upstreamTargets } from './upstream-target.js';

export interface GatewayStartOptions {
  config: LoadedConfig;
  logger: Logger;
  /** Shared by all workers so TLS session tickets resume across them. */
  ticketKeys?: Buffer | undefined;
  events?: GatewayEvents | undefined;
  /**
   * Where connections come from: the configured addresses (default), sockets inherited from
   * systemd, or none (inetd mode hands over its one connection with `handle`).
   */
  listen?: 'configured' | { fds: number[] } | 'none';
}

export type ReloadResult =
  | { ok: true; restartNeeded: SettingName[] }
  | { ok: false; error: string };

export const noEvents: GatewayEvents = {
  connectionRefused() {},
  sessionStarted() {},
  sessionEnded() {},
  tlsHandshakeFailed() {},
};

/** Loads everything a generation needs; throws ConfigError on the first problem. */
export async function buildGeneration(
  settings: Settings,
  context: { isReload: boolean; ticketKeys?: Buffer | undefined },
): Promise<GatewayGeneration> {
  const tls = settings.ssl ? new TlsAcceptor(loadServerTls(settings, context).options) : undefined;
  const access =
    settings.hba_file === ''
      ? builtInAccessPolicy
      : await loadHbaPolicy(settings.hba_file, settings.ident_file, {
          ssl: settings.ssl,
          clientCertificates: settings.ssl && settings.ssl_ca_file !== '',
        });
  return { settings, tls, access, upstreams: upstreamTargets(settings.upstream) };
}

export class Gateway {
  private listeners: OpenListener[] = [];
  private shuttingDown = false;
  readonly registry = new SessionRegistry();
  lastReload: { at: Date; ok: boolean; error?: string } | undefined;

  private constructor(
    private config: LoadedConfig,
    private generation: GatewayGeneration,
    private readonly logger: Logger,
    private readonly ticketKeys: Buffer | undefined,
    private readonly events: GatewayEvents,
  ) {}

  static async start(options: GatewayStartOptions): Promise<Gateway> {
    const generation = await buildGeneration(options.config.settings, {
      isReload: false,
      ticketKeys: options.ticketKeys,
    });
    const gateway = new Gateway(
      options.config,
      generation,
      options.logger,
      options.ticketKeys,
      options.events ?? noEvents,
    );
    const { settings } = options.config;
    const env: ConnectionEnvironment = {
      current: () => gateway.generation,
      registry: gateway.registry,
      logger: options.logger,
      isShuttingDown: () => gateway.shuttingDown,
      events: gateway.events,
    };
    const onConnection = (socket: Socket, transport: 'tcp' | 'local') => {
      handleClientConnection(socket, transport, env).catch((error: unknown) => {
        options.logger.error(
          { err: describeError(error) },
          'unexpected error in a client connection',
        );
        socket.destroy();
      });
    };
    gateway.handleConnection = onConnection;
    const listen = options.listen ?? 'configured';
    if (listen === 'none') return gateway;
    if (listen !== 'configured') {
      gateway.listeners = await openActivatedListeners(listen.fds, onConnection);
      return gateway;
    }
    gateway.listeners = await openListeners(
      {
        listenAddresses: settings.listen_addresses,
        port: settings.port,
        unixSocketDirectories: settings.unix_socket_directories,
        unixSocketPermissions: settings.unix_socket_permissions,
      },
      onConnection,
      options.logger,
    );
    return gateway;
  }

  private handleConnection: ((socket: Socket, transport: 'tcp' | 'local') => void) | undefined;

  /** Serves one connection handed over from outside (inetd mode); resolves when it ends. */
  handle(socket: Socket): Promise<void> {
    const transport = socket.remoteAddress === undefined ? 'local' : 'tcp';
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    this.handleConnection?.(socket, transport);
    return closed;
  }

  get settings(): Settings {
    return this.generation.settings;
  }

  addresses(): string[] {
    return this.listeners.map((listener) => listener.description);
  }

  /** Applies `next` if it loads completely; otherwise keeps the current generation. */
  async reload(next: LoadedConfig): Promise<ReloadResult> {
    let generation: GatewayGeneration;
    try {
      generation = await buildGeneration(next.settings, {
        isReload: true,
        ticketKeys: this.ticketKeys,
      });
    } catch (error) {
      const message = describeError(error);
      this.lastReload = { at: new Date(), ok: false, error: message };
      this.logger.error(
        { err: message },
        'reload failed; the previous configuration stays in effect',
      );
      return { ok: false, error: message };
    }
    const restartNeeded = (Object.keys(SETTINGS) as SettingName[]).filter(
      (name) =>
        SETTINGS[name].context === 'restart' &&
        JSON.stringify(next.settings[name]) !== JSON.stringify(this.config.settings[name]),
    );
    for (const name of restartNeeded) {
      this.logger.warn(
        { setting: name },
        `parameter "${name}" cannot be changed without restarting the server; the change is ignored until then`,
      );
    }
    // Restart-only settings keep their running values so status output tells the truth.
    for (const name of restartNeeded) {
      (next.settings as Record<SettingName, unknown>)[name] = this.config.settings[name];
    }
    this.config = next;
    this.generation = generation;
    this.lastReload = { at: new Date(), ok: true };
    for (const warning of generation.access.warnings ?? []) this.logger.warn({}, warning);
    this.logger.info({}, 'configuration reloaded');
    return { ok: true, restartNeeded };
  }

  /** `smart`: stop accepting, let sessions finish up to shutdown_timeout. `fast`: close them now. */
  async shutdown(mode: 'smart' | 'fast'): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    const closing = closeListeners(this.listeners);
    if (mode === 'fast') {
      const closed = this.registry.closeAll();
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
    await closing;
  }
}
