// `pgtunnel connect`: local plaintext endpoints that open TLS to PostgreSQL with libpq's
// sslmode semantics (or stunnel-style raw TLS with --raw), from the command line or from a
// config file with one [section] per tunnel; also inetd mode and systemd socket activation.
import { fstatSync, openSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseTunnelFile } from '../../connect/tunnel-config.js';
import {
  loadLocalTls,
  type RunningTunnel,
  serveInetdConnection,
  startTunnel,
} from '../../connect/tunnel-server.js';
import {
  buildTargets,
  connectValueToConnInfo,
  type TunnelSpec,
  tunnelSpecFromSection,
} from '../../connect/tunnel-spec.js';
import { ConfigError, describeError, PgTunnelError } from '../../errors.js';
import { createLogger, type Logger, type LogLevel } from '../../log.js';
import { parseSocketAddress } from '../../net/address.js';
import {
  type ActivatedSocket,
  activatedSockets,
  forgetActivationEnvironment,
} from '../../net/socket-activation.js';
import { stdioConnection } from '../../net/stdio-connection.js';
import { ExitCode, exitWithError } from '../exit.js';
import { COMMAND_HELP, operandsAndCommand, runThroughTunnel } from '../run-through-tunnel.js';
import { runService } from '../service.js';

interface ConnectOptions {
  listen: string[];
  config?: string;
  raw?: boolean;
  inetd?: boolean;
  pidFile?: string;
  localSslCert?: string;
  localSslKey?: string;
  unixSocketMode?: string;
  idleTimeout?: string;
  name: string;
  logLevel?: string;
  logFile?: string;
  check?: boolean;
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

export function registerConnect(program: Command): void {
  program
    .command('connect')
    .description(
      'Give local clients a plaintext PostgreSQL endpoint that connects onward over TLS with libpq sslmode semantics',
    )
    .argument(
      '[conninfo]',
      'the server, as a libpq connection string or postgresql:// URI (PG* environment variables apply)',
    )
    .argument('[command...]', COMMAND_HELP)
    .option(
      '-l, --listen <address>',
      'where local clients connect: host:port, [v6]:port, port, unix:/path, or a socket directory /dir[:port] (repeatable)',
      collect,
      [],
    )
    .option('-f, --config <file>', 'run the tunnels of this file (one [section] per tunnel)')
    .option('--raw', 'stunnel-compatible raw TLS to the server, not PostgreSQL-aware')
    .option('--inetd', 'serve the one connection on standard input/output, then exit')
    .option('--pid-file <file>', 'write the process ID here once listening')
    .option(
      '--local-ssl-cert <file>',
      'serve TLS to local clients that ask for it, with this certificate',
    )
    .option('--local-ssl-key <file>', 'private key for --local-ssl-cert')
    .option('--unix-socket-mode <mode>', 'permissions of unix sockets created (octal)', '0777')
    .option('--idle-timeout <seconds>', 'close sessions idle this long (0 = never)', '0')
    .option('--name <name>', 'tunnel name for logs', 'tunnel')
    .option('--log-level <level>', `one of ${LOG_LEVELS.join(', ')} (default info)`)
    .option('--log-file <file>', 'append logs to this file instead of standard error')
    .option('--check', 'check the configuration and files, then exit')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  pgtunnel connect --listen 127.0.0.1:5433 "host=db.example.com sslmode=verify-full sslrootcert=root.crt"',
        '  pgtunnel connect --listen /run/pgtunnel "postgresql://db.example.com/?sslmode=verify-full"  # psql -h /run/pgtunnel',
        '  pgtunnel connect --raw --listen 6000 "host=tls.example.com port=443 sslrootcert=root.crt"',
        '  pgtunnel connect --config /etc/pgtunnel/connect.conf',
        '  pgtunnel connect "host=db.example.com sslmode=verify-full" -- pg_dump -d app -f app.sql',
      ].join('\n'),
    )
    .action((conninfo: string | undefined, rest: string[], options: ConnectOptions) => {
      const split = operandsAndCommand([...(conninfo !== undefined ? [conninfo] : []), ...rest]);
      if (split.operands.length > 1) {
        throw usage(`unexpected "${split.operands[1]}": put the command to run after --`);
      }
      const run =
        split.command.length > 0
          ? runConnectCommand(split.operands[0], options, split.command)
          : runConnect(split.operands[0], options);
      return run.catch(exitWithError);
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function usage(message: string): PgTunnelError {
  return new PgTunnelError('ERR_USAGE', message);
}

/** The tunnels the command line or the config file describes. */
function loadSpecs(
  conninfo: string | undefined,
  options: ConnectOptions,
): { specs: TunnelSpec[]; pidFile?: string; logLevel?: LogLevel } {
  if (options.config) {
    if (conninfo !== undefined || options.listen.length > 0 || options.raw) {
      throw usage('give either --config or a connection string with --listen, not both');
    }
    let text: string;
    try {
      text = readFileSync(options.config, 'utf8');
    } catch (error) {
      throw new ConfigError(
        'ERR_CONFIG_FILE',
        `could not read "${options.config}": ${describeError(error)}`,
        { cause: error },
      );
    }
    const file = parseTunnelFile(text, options.config);
    if (file.tunnels.length === 0) {
      throw new ConfigError(
        'ERR_CONFIG_MISSING',
        `"${options.config}" defines no tunnel: add a [name] section with accept and connect`,
      );
    }
    return {
      specs: file.tunnels.map((section) => tunnelSpecFromSection(section)),
      ...(file.pidFile ? { pidFile: file.pidFile.value } : {}),
      ...(file.logLevel ? { logLevel: file.logLevel.value } : {}),
    };
  }
  const raw = options.raw ?? false;
  const explicit = conninfo === undefined ? {} : connectValueToConnInfo(conninfo);
  const { targets, warnings } = buildTargets(explicit, { raw });
  if (!/^0?[0-7]{3}$/.test(options.unixSocketMode ?? '0777')) {
    throw usage(`--unix-socket-mode must be octal like 0770, not "${options.unixSocketMode}"`);
  }
  if (!/^\d+$/.test(options.idleTimeout ?? '0')) {
    throw usage(`--idle-timeout must be a number of seconds, not "${options.idleTimeout}"`);
  }
  if (Boolean(options.localSslCert) !== Boolean(options.localSslKey)) {
    throw usage('--local-ssl-cert and --local-ssl-key go together');
  }
  if (raw && options.localSslCert) {
    throw usage('--local-ssl-cert does not apply to --raw (the local side is plaintext)');
  }
  const spec: TunnelSpec = {
    name: options.name,
    listen: options.listen.map((text) => parseSocketAddress(text)),
    targets,
    raw,
    warnings,
    unixSocketMode: Number.parseInt(options.unixSocketMode ?? '0777', 8),
  };
  const idle = Number(options.idleTimeout ?? '0');
  if (idle > 0) spec.idleTimeoutMs = idle * 1000;
  if (options.localSslCert && options.localSslKey) {
    spec.localTls = { certFile: options.localSslCert, keyFile: options.localSslKey };
  }
  return { specs: [spec] };
}

/** Matches inherited sockets to tunnels: by FileDescriptorName=, or all to a single tunnel. */
function assignActivatedSockets(
  specs: TunnelSpec[],
  sockets: ActivatedSocket[],
): Map<string, number[]> {
  const byTunnel = new Map<string, number[]>();
  for (const socket of sockets) {
    const named = specs.find((spec) => spec.name === socket.name);
    const owner = named ?? (specs.length === 1 ? specs[0] : undefined);
    if (!owner) {
      throw new ConfigError(
        'ERR_INHERITED_SOCKET',
        `inherited socket fd ${socket.fd} is named "${socket.name}", which is no tunnel: set FileDescriptorName= in the .socket unit to one of ${specs.map((s) => s.name).join(', ')}`,
      );
    }
    byTunnel.set(owner.name, [...(byTunnel.get(owner.name) ?? []), socket.fd]);
  }
  return byTunnel;
}

function makeLogger(level: LogLevel, logFile: string | undefined, inetd: boolean): Logger {
  if (logFile) return createLogger({ level, destination: openSync(logFile, 'a') });
  if (inetd) {
    // Under inetd, stderr is often the client's socket too: logging there would corrupt it.
    try {
      const input = fstatSync(0);
      const errors = fstatSync(2);
      if (input.dev === errors.dev && input.ino === errors.ino) {
        return createLogger({ level: 'silent' });
      }
    } catch {
      // no stderr to compare with: log as usual
    }
  }
  return createLogger({ level });
}

async function runConnect(conninfo: string | undefined, options: ConnectOptions): Promise<void> {
  if (options.logLevel && !(LOG_LEVELS as readonly string[]).includes(options.logLevel)) {
    throw usage(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const { specs, pidFile: filePid, logLevel: fileLevel } = loadSpecs(conninfo, options);
  const level = (options.logLevel as LogLevel | undefined) ?? fileLevel ?? 'info';
  const pidFile = options.pidFile ?? filePid;
  const inetd = options.inetd ?? false;
  const logger = makeLogger(level, options.logFile, inetd);

  // Load every local certificate before binding anything.
  for (const spec of specs) loadLocalTls(spec);

  if (inetd) {
    if (specs.length !== 1) {
      throw usage('--inetd serves one tunnel: the config file defines several');
    }
    const [spec] = specs as [TunnelSpec];
    if (options.check) return reportCheck(specs);
    await serveInetdConnection(spec, stdioConnection(), logger);
    process.exit(ExitCode.OK);
  }

  const sockets = activatedSockets();
  forgetActivationEnvironment();
  const fdsByTunnel = assignActivatedSockets(specs, sockets);
  for (const spec of specs) {
    if (spec.listen.length === 0 && !fdsByTunnel.has(spec.name)) {
      throw usage(
        specs.length === 1 && !options.config
          ? 'nowhere to listen: give --listen (e.g. --listen 127.0.0.1:5433), or use --inetd or socket activation'
          : `tunnel [${spec.name}] has no accept address`,
      );
    }
  }
  if (options.check) return reportCheck(specs);

  const tunnels: RunningTunnel[] = [];
  await runService({
    logger,
    pidFile,
    start: async () => {
      try {
        for (const spec of specs) {
          tunnels.push(await startTunnel(spec, logger, { fds: fdsByTunnel.get(spec.name) ?? [] }));
        }
      } catch (error) {
        await Promise.all(tunnels.map((t) => t.close('fast')));
        throw error;
      }
      return {
        stop: async (mode) => {
          await Promise.all(tunnels.map((tunnel) => tunnel.close(mode)));
        },
        sessions: () => tunnels.reduce((n, t) => n + t.activeConnections(), 0),
      };
    },
    ready: () =>
      logger.info(
        { tunnels: tunnels.map((t) => ({ name: t.name, addresses: t.addresses })) },
        'ready to accept connections',
      ),
    noReload: 'pgtunnel connect does not reload; restart it to apply changes',
  });
}

/**
 * `pgtunnel connect CONNINFO -- COMMAND`: one tunnel on a free loopback port (or --listen),
 * plaintext locally (PGSSLMODE=disable), for as long as the command runs.
 */
async function runConnectCommand(
  conninfo: string | undefined,
  options: ConnectOptions,
  command: string[],
): Promise<void> {
  if (options.config || options.inetd) {
    throw usage(
      'a command to run (after --) goes with a connection string, not --config or --inetd',
    );
  }
  const [spec] = loadSpecs(conninfo, options).specs;
  // without --listen: a free loopback port, for this command only
  const tcp = spec?.listen.length
    ? spec.listen.find((address) => address.kind === 'tcp')
    : ({ kind: 'tcp', host: '127.0.0.1', port: 0 } as const);
  if (!spec || !tcp) throw usage('a command to run needs a TCP --listen address');
  spec.listen = [tcp];
  const logger = makeLogger(
    (options.logLevel as LogLevel | undefined) ?? 'warn',
    options.logFile,
    false,
  );
  const tunnel = await startTunnel(spec, logger);
  const [address] = tunnel.addresses;
  const port = Number(address?.slice(address.lastIndexOf(':') + 1));
  // a wildcard listen address is reached through loopback
  const host =
    tcp.host === '' || tcp.host === '0.0.0.0' ? '127.0.0.1' : tcp.host === '::' ? '::1' : tcp.host;
  const sslmode = spec.localTls ? 'require' : 'disable';
  const endpoint = { host, port, sslmode };
  process.exit(await runThroughTunnel(command, endpoint, () => tunnel.close('fast')));
}

function reportCheck(specs: TunnelSpec[]): void {
  for (const spec of specs) {
    for (const warning of spec.warnings) console.log(`warning: tunnel "${spec.name}": ${warning}`);
  }
  console.log(`configuration OK (${specs.length} tunnel${specs.length === 1 ? '' : 's'})`);
  process.exit(ExitCode.OK);
}
