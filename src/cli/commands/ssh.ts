// `pgtunnel ssh`: local forwards to PostgreSQL through SSH with ssh(1)'s -L/-p/-i/-J/-F/-o
// flags, optional profiles from a config file, reconnecting until stopped.
import { homedir, userInfo } from 'node:os';
import { type Command, Option } from 'commander';
import { PgTunnelError } from '../../errors.js';
import { createLogger, type LogLevel } from '../../log.js';
import { isBackgroundChild, reportReady, runInBackground } from '../../ssh/background.js';
import { parsePort } from '../../ssh/destination.js';
import { parseForwardSpec, privilegedPortWarning } from '../../ssh/forward-spec.js';
import { loadProfile, type SshProfile } from '../../ssh/profiles.js';
import { loadSshConfig } from '../../ssh/ssh-config-file.js';
import {
  logLevelFor,
  NO_OP_SSH_FLAGS,
  PROTOCOL_TRACE_VERBOSITY,
  refuseUnsupportedFlags,
  UNSUPPORTED_SSH_FLAGS,
} from '../../ssh/ssh-flags.js';
import { SUPPORTED_OPTIONS } from '../../ssh/ssh-options.js';
import { startSshTunnel } from '../../ssh/ssh-tunnel.js';
import { planTunnel } from '../../ssh/tunnel-plan.js';
import { COMMAND_HELP, operandsAndCommand, runThroughTunnel } from '../run-through-tunnel.js';
import { runService } from '../service.js';

interface SshFlags {
  localForward?: string[];
  port?: string;
  loginName?: string;
  identity?: string[];
  jump?: string;
  sshConfig?: string;
  option?: string[];
  knownHosts?: string;
  check?: boolean;
  connectWait?: string;
  reconnectMaxDelay?: string;
  config?: string;
  profile?: string;
  logLevel?: LogLevel;
  /** ssh's -f, -q, -v (counted), -4, -6, -C. */
  f?: boolean;
  q?: boolean;
  v?: number;
  '4'?: boolean;
  '6'?: boolean;
  C?: boolean;
  pidFile?: string;
  [unsupported: string]: unknown;
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

export function registerSsh(program: Command): void {
  const command = program
    .command('ssh')
    .description('forward local ports to PostgreSQL through SSH (ssh -L semantics), reconnecting')
    .argument(
      '[destination]',
      '[user@]host or ssh://[user@]host[:port]; may be a ~/.ssh/config Host',
    )
    .argument('[command...]', COMMAND_HELP)
    .option('-L, --local-forward <spec>', '[bind_address:]port:host:hostport (repeatable)', collect)
    .option('-p, --port <port>', 'SSH port of the destination')
    .option('-l, --login-name <user>', 'user to log in as on the destination')
    .option('-i, --identity <file>', 'private key file, tried on every hop (repeatable)', collect)
    .option('-J, --jump <hosts>', 'jump hosts, [user@]host[:port] separated by commas')
    .option('-F, --ssh-config <file>', 'ssh_config file instead of ~/.ssh/config ("none" for none)')
    .option(
      '-o, --option <Key=Value>',
      `ssh_config option (repeatable): ${SUPPORTED_OPTIONS.join(', ')}`,
      collect,
    )
    .addOption(new Option('-f', 'go to the background once the forwards listen'))
    .addOption(new Option('-q', 'quiet: log errors only'))
    .addOption(
      new Option('-v', 'verbose: debug logs; -vvv adds the SSH protocol trace')
        .argParser((_value: string | undefined, count: number) => count + 1)
        .default(0),
    )
    .addOption(new Option('-4', 'IPv4 only (AddressFamily inet)').conflicts('6'))
    .addOption(new Option('-6', 'IPv6 only (AddressFamily inet6)'))
    .addOption(new Option('-C', 'compress the SSH connection (Compression yes)'))
    .option('--known-hosts <file>', 'the known_hosts file to use (default ~/.ssh/known_hosts)')
    .option('--pid-file <file>', 'write the process id here once the forwards listen')
    .option('--check', 'after connecting, confirm each target answers as PostgreSQL; exit if not')
    .option('--connect-wait <seconds>', 'how long new connections wait while SSH reconnects (10)')
    .option('--reconnect-max-delay <seconds>', 'longest pause between reconnect attempts (30)')
    .option('--config <file>', 'config file holding [ssh.NAME] profiles')
    .option('--profile <name>', 'use the [ssh.NAME] profile from --config')
    .addOption(
      new Option('--log-level <level>', 'log level (default info)').choices([
        'debug',
        'info',
        'warn',
        'error',
        'silent',
      ]),
    )
    // A mistyped flag gets one line, not the whole help.
    .showHelpAfterError(false)
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  pgtunnel ssh -L 63333:localhost:5432 joe@foo.com\n' +
        '  pgtunnel ssh -J joe@shell.foo.com -L 63333:db.internal:5432 joe@foo.com --check\n' +
        '  pgtunnel ssh --config tunnels.conf --profile prod\n' +
        "  pgtunnel ssh -L 0:localhost:5432 joe@foo.com -- psql -c 'select 1'\n",
    )
    .action(async (destinationArg: string | undefined, rest: string[], flags: SshFlags) => {
      const split = operandsAndCommand([...(destinationArg ? [destinationArg] : []), ...rest]);
      if (split.operands.length > 1) {
        throw new PgTunnelError(
          'ERR_USAGE',
          `unexpected "${split.operands[1]}": put the command to run after --`,
        );
      }
      await runSsh(split.operands[0], flags, split.command);
    });
  for (const { flag, why } of NO_OP_SSH_FLAGS) {
    command.addOption(new Option(flag, `accepted for ssh compatibility; ${why}`));
  }
  // ssh's other flags are recognised (with their arguments) to be answered with a reason.
  for (const { flag, argument } of UNSUPPORTED_SSH_FLAGS) {
    command.addOption(new Option(argument ? `${flag} <${argument}>` : flag).hideHelp());
  }
}

async function runSsh(
  destinationArg: string | undefined,
  flags: SshFlags,
  command: string[] = [],
): Promise<void> {
  refuseUnsupportedFlags(flags);
  if (flags.f && command.length > 0) {
    throw new PgTunnelError(
      'ERR_USAGE',
      '-f with a command to run is not supported: run the command after a plain -f tunnel',
    );
  }
  if (flags.f && !isBackgroundChild()) {
    process.exit(await runInBackground((line) => console.log(line)));
  }
  const profile: Partial<SshProfile> = flags.profile
    ? loadProfile(requireConfig(flags), flags.profile)
    : {};
  if (flags.config && !flags.profile) {
    throw new PgTunnelError('ERR_USAGE', '--config needs --profile NAME to pick a tunnel profile');
  }
  const destination = destinationArg ?? profile.destination;
  if (!destination) {
    throw new PgTunnelError(
      'ERR_USAGE',
      'no SSH destination: give [user@]host, or --config FILE --profile NAME',
    );
  }
  const forwardTexts = flags.localForward?.length ? flags.localForward : (profile.forwards ?? []);
  const forwards = forwardTexts.map(parseForwardSpec);
  const home = homedir();
  const level = logLevelFor({ logLevel: flags.logLevel, quiet: flags.q, verbose: flags.v });
  // with a command, its output is what the user reads: only warnings and errors are logged
  const log = createLogger({
    level: command.length > 0 && !flags.logLevel && level === 'info' ? 'warn' : level,
  });
  const uid = process.getuid?.();
  for (const spec of forwards) {
    const warning = privilegedPortWarning(spec, uid);
    if (warning) log.warn({ forward: spec.text }, warning);
  }

  const sshConfig = loadSshConfig({ file: flags.sshConfig ?? profile.sshConfig, home });
  for (const warning of sshConfig.warnings) log.warn({}, `ssh config: ${warning}`);
  const plan = planTunnel(
    {
      destination,
      user: flags.loginName ?? profile.user,
      port: flags.port !== undefined ? parsePort(flags.port, 'invalid -p') : profile.port,
      identityFiles: [...(flags.identity ?? []), ...(profile.identityFiles ?? [])],
      jump: flags.jump ?? profile.jump,
      options: [...sshFlagOptions(flags), ...(flags.option ?? []), ...(profile.options ?? [])],
      knownHostsFile: flags.knownHosts ?? profile.knownHosts,
    },
    { config: sshConfig, home, localUser: userInfo().username, env: process.env },
  );

  const ready: string[] = [];
  const startTunnel = () =>
    startSshTunnel({
      plan,
      forwards,
      home,
      connectWaitMs:
        seconds(flags.connectWait, profile.connectWaitSeconds, '--connect-wait', 10) * 1000,
      backoff: {
        maxMs:
          seconds(
            flags.reconnectMaxDelay,
            profile.reconnectMaxDelaySeconds,
            '--reconnect-max-delay',
            30,
          ) * 1000,
      },
      check: flags.check ?? profile.check ?? false,
      // Each result as it comes, failures too: a run with several forwards reports them all.
      onCheck: ({ line }) => ready.push(`pgtunnel ssh: ${line}`),
      protocolTrace: (flags.v ?? 0) >= PROTOCOL_TRACE_VERBOSITY,
      log,
    }).catch((error: unknown) => {
      // The background child's stdout goes nowhere: its stderr still reaches the user.
      for (const line of ready) (isBackgroundChild() ? console.error : console.log)(line);
      throw error;
    });

  if (command.length > 0) {
    // `-- command`: the tunnel lives as long as the command, whose status is ours
    const running = await startTunnel();
    const [first] = running.forwards;
    if (!first) throw new PgTunnelError('ERR_USAGE', 'a command to run needs a -L forward');
    const endpoint = { host: first.address, port: first.port };
    process.exit(await runThroughTunnel(command, endpoint, () => running.close()));
  }

  const via = plan.hops.map((h) => `${h.user}@${h.host}:${h.port}`).join(' -> ');
  let tunnel: Awaited<ReturnType<typeof startSshTunnel>> | undefined;
  await runService({
    logger: log,
    pidFile: flags.pidFile,
    start: async () => {
      const started = await startTunnel();
      tunnel = started;
      let closing: Promise<void> | undefined;
      // Forwards have no smart mode: the first signal closes them, a second one exits.
      return { stop: () => (closing ??= started.close()) };
    },
    ready: () => {
      // Check results first: the "listening on" lines mean ready, so they come last.
      const where = (address: string) => (address.includes(':') ? `[${address}]` : address);
      for (const forward of tunnel?.forwards ?? []) {
        const also = forward.alsoOn.map((a) => `${where(a)}:${forward.port}, `).join('');
        ready.push(
          `pgtunnel ssh: listening on ${where(forward.address)}:${forward.port}, ${also}` +
            `forwarding to ${forward.spec.host}:${forward.spec.hostPort} through ${via}`,
        );
      }
      // With -f the waiting foreground command prints them, then exits.
      if (isBackgroundChild()) reportReady(ready);
      else for (const line of ready) console.log(line);
    },
    noReload: 'pgtunnel ssh does not reload; restart it to apply changes',
  });
}

/** ssh's -4, -6 and -C as the -o options they stand for (given first, so they win). */
function sshFlagOptions(flags: SshFlags): string[] {
  const options: string[] = [];
  if (flags['4']) options.push('AddressFamily=inet');
  if (flags['6']) options.push('AddressFamily=inet6');
  if (flags.C) options.push('Compression=yes');
  return options;
}

function requireConfig(flags: SshFlags): string {
  if (!flags.config) {
    throw new PgTunnelError(
      'ERR_USAGE',
      '--profile needs --config FILE (the file holding [ssh.NAME] sections)',
    );
  }
  return flags.config;
}

/** A flag's seconds, else the profile's, else the default. */
function seconds(
  flag: string | undefined,
  fromProfile: number | undefined,
  name: string,
  fallback: number,
): number {
  if (flag === undefined) return fromProfile ?? fallback;
  const value = Number(flag);
  if (!/^\d+(\.\d+)?$/.test(flag) || value > 3600) {
    throw new PgTunnelError(
      'ERR_USAGE',
      `${name} must be a number of seconds (0-3600), not "${flag}"`,
    );
  }
  return value;
}
