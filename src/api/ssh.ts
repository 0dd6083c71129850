// The Node API's SSH tunnel: what `pgtunnel ssh -L` does, inside the calling process, with the
// same checks (known_hosts, jump hosts, ssh-agent, ~/.ssh/config, reconnect, PostgreSQL check).
import { homedir, userInfo } from 'node:os';
import { type Logger, silentLogger } from '../log.js';
import { parseForwardSpec } from '../ssh/forward-spec.js';
import { loadSshConfig } from '../ssh/ssh-config-file.js';
import { startSshTunnel } from '../ssh/ssh-tunnel.js';
import { planTunnel } from '../ssh/tunnel-plan.js';
import type { LocalEndpoint } from './local-endpoint.js';

export interface SshTunnelOptions {
  /** `[user@]host`, `ssh://[user@]host[:port]`, or a Host alias from the ssh config. */
  destination: string;
  /** The PostgreSQL server as the destination sees it, e.g. `{ host: 'localhost', port: 5432 }`. */
  target: { host: string; port: number };
  /** Local address to listen on; default `127.0.0.1`. */
  localHost?: string;
  /** Local port; default 0 (a free one, reported in the result). */
  localPort?: number;
  /** `-l`: login name on the destination. */
  user?: string;
  /** `-p`: SSH port of the destination. */
  port?: number;
  /** `-i`: private key files, tried on every hop. */
  identityFiles?: string[];
  /** `-J`: jump hosts, `[user@]host[:port]` separated by commas. */
  jump?: string;
  /** `-o Key=Value` options (StrictHostKeyChecking, ServerAliveInterval, IdentityAgent …). */
  sshOptions?: string[];
  /** `-F`: ssh config file instead of ~/.ssh/config; `'none'` for none. */
  sshConfigFile?: string;
  /** The only known_hosts file to read (default: the user's, as ssh does). */
  knownHostsFile?: string;
  /** Confirm the target answers as PostgreSQL before resolving (rejects with ERR_SSH_CHECK). */
  check?: boolean;
  /** How long a new connection waits while SSH reconnects; default 10 000 ms. */
  connectWaitMs?: number;
  /** Longest pause between reconnect attempts; default 30 000 ms. */
  reconnectMaxDelayMs?: number;
  /** Home directory for ~ and the default files; default the user's. */
  home?: string;
  /** A pino-compatible logger; default silent. */
  logger?: Logger;
}

export interface SshTunnel extends LocalEndpoint {
  /** The check's result line when `check` was asked for. */
  checks: readonly string[];
}

/**
 * Opens an SSH local forward and resolves once it listens and SSH is connected (with `check`,
 * once the target answered as PostgreSQL). Rejects with a PgTunnelError: ERR_SSH_HOST_KEY,
 * ERR_SSH_AUTH, ERR_SSH, ERR_SSH_CHECK, ERR_LISTEN, ERR_USAGE, ERR_CONFIG_*.
 */
export async function openSshTunnel(options: SshTunnelOptions): Promise<SshTunnel> {
  const home = options.home ?? homedir();
  const log = options.logger ?? silentLogger;
  const bind = options.localHost ?? '127.0.0.1';
  const bindText = bind.includes(':') ? `[${bind}]` : bind;
  const targetText = options.target.host.includes(':')
    ? `[${options.target.host}]`
    : options.target.host;
  const forward = parseForwardSpec(
    `${bindText}:${options.localPort ?? 0}:${targetText}:${options.target.port}`,
  );
  const config = loadSshConfig({ file: options.sshConfigFile, home });
  for (const warning of config.warnings) log.warn({}, `ssh config: ${warning}`);
  const plan = planTunnel(
    {
      destination: options.destination,
      user: options.user,
      port: options.port,
      identityFiles: options.identityFiles ?? [],
      jump: options.jump,
      options: options.sshOptions ?? [],
      knownHostsFile: options.knownHostsFile,
    },
    { config, home, localUser: userInfo().username, env: process.env },
  );
  const tunnel = await startSshTunnel({
    plan,
    forwards: [forward],
    home,
    ...(options.connectWaitMs !== undefined ? { connectWaitMs: options.connectWaitMs } : {}),
    ...(options.reconnectMaxDelayMs !== undefined
      ? { backoff: { maxMs: options.reconnectMaxDelayMs } }
      : {}),
    check: options.check ?? false,
    log,
  });
  const [bound] = tunnel.forwards;
  if (!bound) throw new Error('the SSH tunnel reported no forward');
  return {
    host: bound.address,
    port: bound.port,
    checks: tunnel.checks,
    close: () => tunnel.close(),
  };
}
