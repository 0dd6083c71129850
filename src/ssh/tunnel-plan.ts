// Turns what the user typed (destination, -l, -p, -i, -J, -o, --known-hosts) plus ssh_config into
// a plan: the hops to connect through, in order, with user, port and keys for each, and the
// host-key and keep-alive settings. Pure given the parsed config; no network, no key reading.
import { ConfigError, PgTunnelError } from '../errors.js';
import { type Destination, parseDestination, parseJumpList } from './destination.js';
import { knownHostsName } from './known-hosts.js';
import { type HostConfig, lookupHost, type SshConfig } from './ssh-config.js';
import { expandHome } from './ssh-config-file.js';
import { parseSshOptions } from './ssh-options.js';

/** What the user asked for on the command line (or in a profile). */
export interface TunnelRequest {
  /** `[user@]host` or `ssh://[user@]host[:port]`; may be a Host alias from ssh_config. */
  destination: string;
  /** `-l`: the login name on the destination. */
  user?: string | undefined;
  /** `-p`: the destination's SSH port. */
  port?: number | undefined;
  /** `-i`: identity files, tried on every hop before the ones ssh_config names. */
  identityFiles?: readonly string[] | undefined;
  /** `-J`: jump hosts, comma-separated, overriding ProxyJump. */
  jump?: string | undefined;
  /** `-o Key=Value` options. */
  options?: readonly string[] | undefined;
  /** `--known-hosts FILE`: the only known_hosts file to read and to add keys to. */
  knownHostsFile?: string | undefined;
}

/** Facts about the local user that ssh also uses. */
export interface PlanContext {
  config: SshConfig;
  home: string;
  localUser: string;
  /** SSH_AUTH_SOCK and other variables IdentityAgent may name. */
  env: Readonly<Record<string, string | undefined>>;
}

/** An identity file to try; `explicit` ones are reported when missing, default ones are not. */
export interface IdentityFile {
  path: string;
  explicit: boolean;
}

/** One SSH server on the way; the last one is the destination. */
export interface HopPlan {
  /** The name as written (`-J` entry, ProxyJump entry or destination). */
  alias: string;
  /** Where to connect (after HostName). */
  host: string;
  port: number;
  user: string;
  /** The name looked up in known_hosts (`host` or `[host]:port`, or from HostKeyAlias). */
  hostKeyName: string;
  identityFiles: IdentityFile[];
  /** ssh-agent socket, or undefined when no agent is to be used. */
  agentSocket: string | undefined;
  /** How this hop's host key is checked, from its own Host block (as `ssh -J` does). */
  hostKeys: HostKeyPolicy;
}

export type StrictHostKeyChecking = 'yes' | 'accept-new' | 'no';

/** How one hop's host key is checked. */
export interface HostKeyPolicy {
  /** known_hosts files to read; accepted keys are appended to the first. */
  files: string[];
  strict: StrictHostKeyChecking;
  /** Write accepted keys hashed (`|1|…`), like HashKnownHosts yes. */
  hash: boolean;
}

export interface TunnelPlan {
  hops: HopPlan[];
  /** ssh2 keepaliveInterval; 0 turns keep-alives off. */
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  /** Deadline for TCP connect, handshake and authentication of each hop. */
  connectTimeoutMs: number;
  /** AddressFamily (`-4`/`-6`): for the first hop's TCP connection and the local listeners. */
  addressFamily: 'any' | 'inet' | 'inet6';
  /** Compression (`-C`): offer zlib on every hop. */
  compression: boolean;
}

/** ssh's default identity files, in the order ssh tries them. */
const DEFAULT_IDENTITY_FILES = ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk'];
const DEFAULT_SERVER_ALIVE_INTERVAL = 15;
const DEFAULT_SERVER_ALIVE_COUNT_MAX = 3;
const DEFAULT_CONNECT_TIMEOUT = 15;
const MAX_JUMP_DEPTH = 8;

export function planTunnel(request: TunnelRequest, context: PlanContext): TunnelPlan {
  const options = parseSshOptions(request.options ?? []);
  const everyHop: SshConfig = {
    directives: [...options.allHops, ...context.config.directives],
    warnings: [],
  };
  const forDestination: SshConfig = {
    directives: [...options.destination, ...everyHop.directives],
    warnings: [],
  };
  const destination = parseDestination(request.destination);
  const destinationConfig = lookupHost(forDestination, destination.host);

  const resolveHop = (written: Destination, config: HostConfig, isDestination: boolean) => {
    const alias = written.host;
    const host = expandTokens(config.hostName?.value ?? alias, { h: alias, '%': '%' });
    const user =
      written.user ??
      (isDestination ? request.user : undefined) ??
      config.user?.value ??
      context.localUser;
    const port =
      written.port ?? (isDestination ? request.port : undefined) ?? config.port?.value ?? 22;
    if (config.proxyCommand && config.proxyCommand.value.toLowerCase() !== 'none') {
      throw new ConfigError(
        'ERR_CONFIG_UNSUPPORTED',
        `ProxyCommand is not supported by pgtunnel ssh (host "${alias}"); use ProxyJump or -J`,
        { location: config.proxyCommand.location },
      );
    }
    const tokens = {
      d: context.home,
      u: context.localUser,
      h: host,
      r: user,
      p: String(port),
      n: alias,
      '%': '%',
    };
    const named = [...(request.identityFiles ?? []), ...config.identityFiles.map((f) => f.value)];
    const identityFiles: IdentityFile[] =
      named.length > 0
        ? named.map((f) => ({
            path: expandHome(expandTokens(f, tokens), context.home),
            explicit: true,
          }))
        : DEFAULT_IDENTITY_FILES.map((f) => ({
            path: `${context.home}/.ssh/${f}`,
            explicit: false,
          }));
    const hop: HopPlan = {
      alias,
      host,
      port,
      user,
      hostKeyName: knownHostsName(config.hostKeyAlias?.value ?? host, port),
      identityFiles,
      agentSocket: config.identitiesOnly?.value ? undefined : agentSocket(config, context),
      // Per hop: a `StrictHostKeyChecking no` meant for the destination must not reach the
      // jump hosts, which ssh checks with their own settings.
      hostKeys: {
        files: knownHostsFiles(request, config, context),
        strict: strictMode(config),
        hash: config.hashKnownHosts?.value ?? true,
      },
    };
    return hop;
  };

  // `-J a,b` to c: c is reached through b, and b through a; a's own ProxyJump still applies
  // (ssh runs `ssh -W` to a, which reads a's config), b's is overridden by the list.
  const chain = (
    written: Destination,
    config: HostConfig,
    jumpSpec: string | undefined,
    depth: number,
  ): HopPlan[] => {
    const hop = resolveHop(written, config, depth === 0);
    // An empty list (`-J ''`) is not "no jump": parseJumpList refuses it.
    if (jumpSpec === undefined || jumpSpec.toLowerCase() === 'none') return [hop];
    if (depth >= MAX_JUMP_DEPTH) {
      throw new ConfigError(
        'ERR_CONFIG_INVALID',
        `ProxyJump chain for "${written.host}" is longer than ${MAX_JUMP_DEPTH} hops (a loop?)`,
      );
    }
    const [first, ...rest] = parseJumpList(jumpSpec);
    if (!first) return [hop];
    const firstConfig = lookupHost(everyHop, first.host);
    return [
      ...chain(first, firstConfig, firstConfig.proxyJump?.value, depth + 1),
      ...rest.map((jump) => resolveHop(jump, lookupHost(everyHop, jump.host), false)),
      hop,
    ];
  };
  const hops = chain(
    destination,
    destinationConfig,
    request.jump ?? destinationConfig.proxyJump?.value,
    0,
  );

  return {
    hops,
    keepaliveIntervalMs:
      (destinationConfig.serverAliveInterval?.value ?? DEFAULT_SERVER_ALIVE_INTERVAL) * 1000,
    keepaliveCountMax:
      destinationConfig.serverAliveCountMax?.value ?? DEFAULT_SERVER_ALIVE_COUNT_MAX,
    connectTimeoutMs: (destinationConfig.connectTimeout?.value || DEFAULT_CONNECT_TIMEOUT) * 1000,
    addressFamily: destinationConfig.addressFamily?.value ?? 'any',
    compression: destinationConfig.compression?.value ?? false,
  };
}

/** `--known-hosts` alone, else UserKnownHostsFile, else ssh's two default files. */
function knownHostsFiles(
  request: TunnelRequest,
  config: HostConfig,
  context: PlanContext,
): string[] {
  if (request.knownHostsFile) return [expandHome(request.knownHostsFile, context.home)];
  const files = config.userKnownHostsFiles?.value ?? ['~/.ssh/known_hosts', '~/.ssh/known_hosts2'];
  return files.map((f) =>
    expandHome(expandTokens(f, { d: context.home, u: context.localUser, '%': '%' }), context.home),
  );
}

function strictMode(config: HostConfig): StrictHostKeyChecking {
  const setting = config.strictHostKeyChecking;
  if (!setting) return 'yes';
  switch (setting.value) {
    case 'yes':
    case 'ask': // nobody to ask: behave like yes
      return 'yes';
    case 'accept-new':
      return 'accept-new';
    case 'no':
    case 'off':
      return 'no';
    default:
      throw new ConfigError(
        'ERR_CONFIG_INVALID',
        `StrictHostKeyChecking must be yes, accept-new or no, not "${setting.value}"`,
        { location: setting.location },
      );
  }
}

function agentSocket(config: HostConfig, context: PlanContext): string | undefined {
  const setting = config.identityAgent?.value;
  if (setting === undefined || setting === 'SSH_AUTH_SOCK')
    return context.env.SSH_AUTH_SOCK || undefined;
  if (setting === 'none') return undefined;
  if (setting.startsWith('$')) return context.env[setting.slice(1)] || undefined;
  return expandHome(setting, context.home);
}

/** Replaces ssh's `%x` tokens; an unknown token is an error, as in ssh. */
export function expandTokens(value: string, tokens: Readonly<Record<string, string>>): string {
  return value.replace(/%(.)/g, (whole, letter: string) => {
    const replacement = tokens[letter];
    if (replacement === undefined) {
      throw new PgTunnelError('ERR_CONFIG_INVALID', `unknown token ${whole} in "${value}"`);
    }
    return replacement;
  });
}
