// The Node API's gateway: what `pgtunnel serve` does (in one process), inside the calling one.
import { runAdminConsole } from '../admin/console/console-entry.js';
import { loadConfig, type Override } from '../config/load.js';
import type { SettingName } from '../config/settings.js';
import { ConfigError } from '../errors.js';
import { loadSnapshot } from '../gateway/config-snapshot.js';
import { Gateway } from '../gateway/gateway.js';
import { type Logger, silentLogger } from '../log.js';
import { pickFreePort } from '../net/free-port.js';
import { type LocalEndpoint, splitHostPort } from './local-endpoint.js';

/** Settings by their configuration names (docs/configuration.md), e.g. `ssl_cert_file`. */
export type GatewaySettings = Partial<Record<SettingName, string | number | boolean>>;

export interface GatewayOptions {
  /** Settings; they override `configFile`'s. `upstream` is required one way or the other. */
  settings?: GatewaySettings;
  /** A configuration file in postgresql.conf syntax. */
  configFile?: string;
  /** A pino-compatible logger; default silent. */
  logger?: Logger;
}

export interface RunningGateway extends LocalEndpoint {
  /** Every address it listens on (TCP and unix sockets). */
  addresses: string[];
  /** Re-reads the configuration (as SIGHUP does); on failure the running one stays. */
  reload(): Promise<{ ok: boolean; error?: string }>;
}

/**
 * Loads every file (certificates, keys, rules), listens, and resolves with the first TCP
 * address. Without `port` (in settings or the file) a free port on `listen_addresses`
 * (default localhost) is used. Rejects with a PgTunnelError: ERR_CONFIG_*, ERR_TLS_*,
 * ERR_HBA_*, ERR_LISTEN.
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const overrides: Override[] = Object.entries(options.settings ?? {}).map(([name, value]) => ({
    name,
    value: typeof value === 'boolean' ? (value ? 'on' : 'off') : String(value),
    origin: `settings.${name}`,
  }));
  const load = () => loadConfig({ configFile: options.configFile, overrides });
  let config = load();
  if (config.sources.get('port')?.origin === 'default') {
    const host = config.settings.listen_addresses[0] ?? 'localhost';
    overrides.push({
      name: 'port',
      value: String(await pickFreePort(host === 'localhost' || host === '*' ? '127.0.0.1' : host)),
      origin: 'a free port',
    });
    config = load();
  }
  if (config.settings.upstream === '') {
    throw new ConfigError(
      'ERR_CONFIG_INVALID',
      "upstream is not set: give the PostgreSQL server as a libpq connection string, e.g. settings: { upstream: 'host=/var/run/postgresql port=5432' }",
    );
  }
  const logger = options.logger ?? silentLogger;
  const snapshot = await loadSnapshot(config, { generation: 1, isReload: false });
  const gateway = await Gateway.start({ snapshot, logger, adminConsole: runAdminConsole });
  let generation = snapshot.generation;
  const addresses = gateway.addresses();
  const tcp = addresses.find((address) => !address.startsWith('/'));
  const { host, port } = tcp ? splitHostPort(tcp) : { host: '', port: 0 };
  return {
    host,
    port,
    addresses,
    async reload() {
      let next: Awaited<ReturnType<typeof loadSnapshot>>;
      try {
        next = await loadSnapshot(load(), { generation: generation + 1, isReload: true });
      } catch (error) {
        return { ok: false, error: (error as Error).message };
      }
      const result = gateway.reload(next);
      if (result.ok) generation = next.generation;
      return result.ok ? { ok: true } : { ok: false, error: result.error };
    },
    close: () => gateway.shutdown('fast'),
  };
}
