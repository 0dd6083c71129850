// `pgtunnel serve`: the TLS gateway in front of PostgreSQL. Flags follow `postgres`
// (-c name=value, -p, -h, -k, -N) and every setting also has a --long-flag; with nothing
// configured it runs the demo: a throwaway PostgreSQL behind the gateway.
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { type Command, Option } from 'commander';
import { runAdminConsole } from '../../admin/console/console-entry.js';
import type { ServeAdmin } from '../../admin/serve-admin.js';
import { maskPasswords } from '../../admin/serve-status.js';
import { type LoadedConfig, loadConfig, type Override } from '../../config/load.js';
import { SETTINGS, type SettingName } from '../../config/settings.js';
import { ConfigError, PgTunnelError } from '../../errors.js';
import {
  type ConfigSnapshot,
  loadSnapshot,
  snapshotWarnings,
} from '../../gateway/config-snapshot.js';
import { watchFiles } from '../../gateway/file-watch.js';
import {
  type ServeController,
  serveInProcess,
  superviseWorkers,
} from '../../gateway/supervisor.js';
import { runWorker } from '../../gateway/worker.js';
import { createLogger, type Logger } from '../../log.js';
import { descriptorLimitWarning, openFileLimit } from '../../net/descriptor-limit.js';
import { activatedSockets, forgetActivationEnvironment } from '../../net/socket-activation.js';
import { defaultPidFile } from '../default-pid-file.js';
import { ExitCode, exitWithError } from '../exit.js';
import { runService } from '../service.js';
import { inetdLogger, runInetdGateway, runRawServe } from './serve-modes.js';

/** Short flags borrowed from the `postgres` binary. */
const SHORT_FLAGS: Partial<Record<SettingName, string>> = {
  listen_addresses: '-h',
  port: '-p',
  unix_socket_directories: '-k',
  max_connections: '-N',
};

interface ServeOptions {
  config?: string;
  c?: string[];
  demo?: boolean;
  check?: boolean;
  skipUpstream?: boolean;
  inetd?: boolean;
  raw?: boolean;
  [flag: string]: unknown;
}

export function registerServe(program: Command): void {
  const command = program
    .command('serve')
    .description('Run the TLS gateway in front of a PostgreSQL server')
    .helpOption('--help', 'display help for command')
    .option(
      '-f, --config <file>',
      'configuration file in postgresql.conf syntax (env PGTUNNEL_CONFIG)',
    )
    .option(
      '-c <name=value>',
      'set a configuration parameter (repeatable), as with postgres -c',
      collect,
      [],
    )
    .option(
      '--demo',
      'start a throwaway PostgreSQL and certificates, and serve them (the default when nothing is configured)',
    )
    .option(
      '--inetd',
      'serve the one connection on standard input/output (inetd, xinetd), then exit',
    )
    .option(
      '--raw',
      'stunnel-compatible raw mode: accept TLS and forward the bytes to upstream (host:port or a socket path), not PostgreSQL-aware',
    )
    .option(
      '--check',
      'load and check the configuration (certificates, keys, hba rules) and try the upstream, then exit',
    )
    .option('--skip-upstream', 'with --check: do not try to reach the upstream server');
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const long = `--${name.replaceAll('_', '-')} <value>`;
    const short = SHORT_FLAGS[name];
    command.addOption(new Option(short ? `${short}, ${long}` : long, SETTINGS[name].description));
  }
  command.action((options: ServeOptions) => runServe(command, options).catch(exitWithError));
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function overridesFrom(command: Command, options: ServeOptions): Override[] {
  const overrides: Override[] = [];
  for (const assignment of options.c ?? []) {
    const at = assignment.indexOf('=');
    if (at <= 0) {
      throw new PgTunnelError('ERR_USAGE', `-c ${assignment}: expected name=value`);
    }
    overrides.push({
      name: assignment.slice(0, at).trim(),
      value: assignment.slice(at + 1),
      origin: `-c ${assignment}`,
    });
  }
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const key = name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
    const value = command.getOptionValue(key) as string | undefined;
    if (value !== undefined)
      overrides.push({ name, value, origin: `--${name.replaceAll('_', '-')}` });
  }
  return overrides;
}

async function runServe(command: Command, options: ServeOptions): Promise<void> {
  const configFile = options.config ?? process.env.PGTUNNEL_CONFIG;
  let overrides = overridesFrom(command, options);
  const nothingConfigured =
    configFile === undefined && !overrides.some((o) => o.name === 'upstream');

  if (cluster.isWorker) {
    // A worker reads no file: the primary sends it the loaded configuration over IPC.
    await runWorker(async (settings) => ({
      logger: createLogger({ level: settings.log_min_messages }),
      // The admin endpoint runs in the primary; workers keep metrics and answer its requests.
      // Like the demo, its code (prom-client) is loaded only when it is on.
      serving: {
        ...(settings.admin_listen === ''
          ? (await import('../../admin/console/console-link.js')).workerConsoleHooks()
          : (await import('../../admin/serve-admin.js')).workerAdminHooks()),
        adminConsole: runAdminConsole,
      },
    }));
    process.exit(ExitCode.OK);
  }

  // Loaded only for the demo: the CA code is not needed otherwise.
  const demo =
    (options.demo || nothingConfigured) && !options.raw && !options.inetd
      ? await import('../../demo/demo.js').then((m) =>
          m.prepareDemo({ portGiven: overrides.some((o) => o.name === 'port') }),
        )
      : undefined;
  if (demo) overrides = [...demo.overrides, ...overrides];
  const load = () => loadConfig({ configFile, overrides });

  let config: LoadedConfig;
  let snapshot: ConfigSnapshot | undefined;
  let admin: ServeAdmin | undefined;
  try {
    config = load();
    if (config.settings.upstream === '') {
      throw new ConfigError(
        'ERR_CONFIG_MISSING',
        "upstream is not set: give the PostgreSQL server as a libpq connection string, e.g. --upstream 'host=/var/run/postgresql port=5432' or upstream = '...' in the configuration file",
      );
    }
    // A non-loopback admin_listen is refused here, before anything binds.
    if (config.settings.admin_listen !== '') {
      admin = (await import('../../admin/serve-admin.js')).ServeAdmin.prepare(config);
    }
    // Load every file (certificates, keys, rules) before binding anything. Raw mode has no
    // rules and its upstream is an address, checked when the raw server loads.
    snapshot = options.raw
      ? undefined
      : await loadSnapshot(config, { generation: 1, isReload: false });
  } catch (error) {
    await demo?.cleanup();
    throw error;
  }
  const logger = options.inetd
    ? inetdLogger(config.settings)
    : createLogger({ level: config.settings.log_min_messages });
  for (const warning of snapshot ? snapshotWarnings(snapshot) : []) logger.warn({}, warning);

  if (options.check) {
    const { checkServe } = await import('./serve-check.js');
    const { ok, lines } = await checkServe(config, {
      raw: options.raw === true,
      skipUpstream: options.skipUpstream === true,
      routes: snapshot?.routes,
    });
    for (const line of lines) console.log(line);
    if (ok) console.log(`configuration OK${config.configFile ? ` (${config.configFile})` : ''}`);
    await demo?.cleanup();
    process.exit(ok ? ExitCode.OK : ExitCode.FAILURE);
  }

  // systemd socket activation: listen on the inherited sockets, in this one process.
  const listenFds = activatedSockets().map((socket) => socket.fd);
  forgetActivationEnvironment();
  if (options.raw || !snapshot) {
    await runRawServe(config, logger, { inetd: options.inetd === true, fds: listenFds });
    return;
  }
  if (options.inetd) await runInetdGateway(config, logger);
  const descriptorWarning = descriptorLimitWarning(config.settings, openFileLimit());
  if (descriptorWarning) logger.warn({}, descriptorWarning);
  const workers =
    listenFds.length > 0
      ? 1
      : config.settings.workers === 0
        ? availableParallelism()
        : config.settings.workers;
  const initial = snapshot;
  let controller: ServeController | undefined;
  await runService({
    logger,
    pidFile: config.settings.pid_file,
    // without pid_file, a PID file per port where `pgtunnel reload` looks by default
    fallbackPidFile: defaultPidFile(config.settings.port),
    start: async (control) => {
      try {
        controller = await startController(load, initial, logger, { workers, listenFds, admin });
      } catch (error) {
        await demo?.cleanup();
        throw error;
      }
      const served = controller;
      // The admin console (virtual database pgtunnel) asks this process for sessions and reloads.
      const consoleLink = await import('../../admin/console/console-link.js');
      consoleLink.serveConsoleRequests({
        reload: () => served.reload(),
        sessions: workers > 1 ? consoleLink.allWorkerSessions : undefined,
      });
      // The list comes from the load in effect: a reload does not read everything twice.
      const stopWatching = config.settings.watch_files
        ? watchFiles(() => served.current().watch, control.reload)
        : () => {};
      return {
        stop: (mode) => {
          stopWatching();
          return served.shutdown(mode);
        },
        abort: () => {
          stopWatching();
          served.abort();
        },
        reload: async () => {
          await served.reload();
        },
      };
    },
    ready: async () => {
      const addresses = controller?.addresses() ?? [];
      logger.info(
        { addresses, workers, upstream: maskPasswords(config.settings.upstream) },
        'ready to accept connections',
      );
      if (demo) console.log(await demo.banner(addresses, load().settings.port));
    },
    cleanup: async () => {
      await admin?.close();
      await demo?.cleanup();
    },
  });
}

/** Starts the gateway in this process or over workers, with the admin endpoint when it is on. */
async function startController(
  load: () => LoadedConfig,
  snapshot: ConfigSnapshot,
  logger: Logger,
  options: { workers: number; listenFds: number[]; admin: ServeAdmin | undefined },
): Promise<ServeController> {
  const { workers, listenFds, admin } = options;
  let controller: ServeController;
  if (workers === 1) {
    controller = await serveInProcess(load, snapshot, logger, {
      ...admin?.inProcessHooks(),
      listenFds,
      adminConsole: runAdminConsole,
    });
  } else {
    // Workers get the configuration over IPC (worker-messages.ts packs it), so neither -c
    // values nor anything else secret is in their arguments or environment.
    cluster.setupPrimary({ args: ['serve'] });
    controller = await superviseWorkers(workers, load, snapshot, logger);
  }
  if (!admin) return controller;
  try {
    return await admin.start(controller, { workers, logger });
  } catch (error) {
    await controller.shutdown('fast');
    throw error;
  }
}
