// The ways `pgtunnel serve` runs besides the listening gateway: one connection on standard
// input/output (--inetd, as under inetd or xinetd), and the stunnel-compatible raw TLS mode
// (--raw), which accepts TLS and forwards bytes without reading the PostgreSQL protocol.
import { fstatSync } from 'node:fs';
import { Socket } from 'node:net';
import { runAdminConsole } from '../../admin/console/console-entry.js';
import type { LoadedConfig } from '../../config/load.js';
import type { Settings } from '../../config/settings.js';
import { ConfigError } from '../../errors.js';
import { loadSnapshot } from '../../gateway/config-snapshot.js';
import { Gateway } from '../../gateway/gateway.js';
import { createLogger, type Logger, silentLogger } from '../../log.js';
import type { SocketAddress } from '../../net/address.js';
import { stdioConnection } from '../../net/stdio-connection.js';
import {
  parseRawTarget,
  type RawServeOptions,
  serveRawInetd,
  startRawServer,
} from '../../raw/raw-server.js';
import { ExitCode } from '../exit.js';
import { runService } from '../service.js';

/**
 * Under inetd the connection is often fds 0, 1 and 2 at once: a log line on stderr would then
 * corrupt the protocol, so logging is off when stderr is the connection itself.
 */
export function inetdLogger(settings: Settings): Logger {
  try {
    const stdin = fstatSync(0);
    const stderr = fstatSync(2);
    if (stdin.ino === stderr.ino && stdin.dev === stderr.dev) return silentLogger;
  } catch {
    return silentLogger;
  }
  return createLogger({ level: settings.log_min_messages });
}

/** Serves the one PostgreSQL connection on stdin/stdout, then exits. */
export async function runInetdGateway(config: LoadedConfig, logger: Logger): Promise<never> {
  const connection = stdioConnection();
  if (!(connection instanceof Socket)) {
    throw new ConfigError(
      'ERR_INHERITED_SOCKET',
      '--inetd needs a socket on standard input, as inetd, xinetd or systemd (Accept=yes) provide; use --raw --inetd for a pipe',
    );
  }
  const snapshot = await loadSnapshot(config, { generation: 1, isReload: false });
  const gateway = await Gateway.start({
    snapshot,
    logger,
    listen: 'none',
    adminConsole: runAdminConsole,
  });
  await gateway.handle(connection);
  process.exit(ExitCode.OK);
}

/** listen_addresses as TCP addresses; `*` is every IPv4 and IPv6 address, as in PostgreSQL. */
function rawListenAddresses(settings: Settings): SocketAddress[] {
  return settings.listen_addresses
    .flatMap((host) => (host === '*' ? ['0.0.0.0', '::'] : [host]))
    .map((host) => ({ kind: 'tcp' as const, host, port: settings.port }));
}

function rawOptions(settings: Settings, logger: Logger, fds: number[]): RawServeOptions {
  const listen = fds.length > 0 ? [] : rawListenAddresses(settings);
  return {
    name: 'serve --raw',
    listen,
    fds,
    target: parseRawTarget(settings.upstream),
    certFile: settings.ssl_cert_file,
    keyFile: settings.ssl_key_file,
    passphraseCommand: settings.ssl_passphrase_command,
    ...(settings.ssl_ca_file === '' ? {} : { caFile: settings.ssl_ca_file }),
    ...(settings.ssl_crl_file === '' ? {} : { crlFile: settings.ssl_crl_file }),
    ...(settings.ssl_crl_dir === '' ? {} : { crlDir: settings.ssl_crl_dir }),
    minVersion: settings.ssl_min_protocol_version,
    ...(settings.ssl_max_protocol_version === ''
      ? {}
      : { maxVersion: settings.ssl_max_protocol_version }),
    handshakeTimeoutMs: settings.authentication_timeout,
    logger,
  };
}

/**
 * Settings of the PostgreSQL-aware gateway that raw mode cannot apply: it reads no startup
 * packet, so it has no user, database or server name to match. Set, they are warned about
 * rather than silently ignored.
 */
export const RAW_MODE_UNUSED: ReadonlyArray<{ name: keyof Settings; why: string }> = [
  {
    name: 'hba_file',
    why: 'raw mode reads no user or database to match its rules (or ident_file maps) against; it admits clients by their certificate (ssl_ca_file, ssl_crl_file)',
  },
  {
    name: 'routes_file',
    why: 'raw mode serves one certificate (ssl_cert_file) and forwards every connection to upstream',
  },
];

/** One warning for each setting in RAW_MODE_UNUSED that is set. */
export function rawModeWarnings(settings: Settings): string[] {
  return RAW_MODE_UNUSED.filter(({ name }) => settings[name] !== '').map(
    ({ name, why }) =>
      `${name} is set but serve --raw does not use it: ${why}; remove it, or run serve without --raw`,
  );
}

/** `serve --raw`: stunnel's server mode with pgtunnel's settings; stops on SIGTERM/SIGINT. */
export async function runRawServe(
  config: LoadedConfig,
  logger: Logger,
  options: { inetd: boolean; fds: number[] },
): Promise<void> {
  const raw = rawOptions(config.settings, logger, options.fds);
  for (const warning of rawModeWarnings(config.settings)) logger.warn({}, warning);
  if (options.inetd) {
    await serveRawInetd(raw, stdioConnection());
    process.exit(ExitCode.OK);
  }
  if (raw.listen.length === 0 && options.fds.length === 0) {
    throw new ConfigError(
      'ERR_CONFIG_MISSING',
      'serve --raw has nowhere to listen: set listen_addresses (unix_socket_directories do not apply to raw TLS)',
    );
  }
  let server: Awaited<ReturnType<typeof startRawServer>> | undefined;
  await runService({
    logger,
    pidFile: config.settings.pid_file,
    start: async () => {
      const started = await startRawServer(raw);
      server = started;
      return { stop: (mode) => started.close(mode) };
    },
    ready: () =>
      logger.info(
        { addresses: server?.addresses, target: config.settings.upstream, raw: true },
        'ready to accept connections',
      ),
    noReload: 'serve --raw does not reload; restart it to apply changes',
  });
}
