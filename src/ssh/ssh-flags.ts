// ssh(1)'s own flags beyond the forwarding ones: which are accepted as no-ops, which change the
// log level, and, for the rest, a one-line reason why pgtunnel ssh does not offer them.
import { PgTunnelError } from '../errors.js';
import type { LogLevel } from '../log.js';

/** An ssh flag pgtunnel ssh answers with a reason instead of acting on it. */
export interface UnsupportedFlag {
  flag: string;
  /** The argument the flag takes in ssh, so the parser consumes it rather than misread it. */
  argument?: string;
  reason: string;
}

const NO_SESSION = 'pgtunnel ssh opens no remote session; it only forwards ports with -L';
const NO_MULTIPLEXING = 'connection sharing (ControlMaster) is not supported';

export const UNSUPPORTED_SSH_FLAGS: readonly UnsupportedFlag[] = [
  { flag: '-1', reason: 'SSH protocol 1 is obsolete (OpenSSH dropped it too)' },
  { flag: '-A', reason: `agent forwarding needs a remote session; ${NO_SESSION}` },
  {
    flag: '-B',
    argument: 'bind_interface',
    reason: 'choosing the local interface is not supported',
  },
  {
    flag: '-b',
    argument: 'bind_address',
    reason: 'choosing the local source address is not supported',
  },
  { flag: '-c', argument: 'cipher_spec', reason: 'the cipher list is fixed; docs/ssh.md lists it' },
  {
    flag: '-D',
    argument: 'port',
    reason: 'dynamic (SOCKS) forwarding is not offered; forward each PostgreSQL with -L',
  },
  {
    flag: '-E',
    argument: 'log_file',
    reason: 'logs go to stderr as JSON lines; redirect stderr (2>>FILE)',
  },
  { flag: '-e', argument: 'escape_char', reason: 'there is no terminal, so no escape character' },
  { flag: '-G', reason: 'printing the evaluated configuration is not supported' },
  {
    flag: '-g',
    reason: 'to let other hosts connect, give the bind address: -L "*:port:host:hostport"',
  },
  {
    flag: '-I',
    argument: 'pkcs11',
    reason: 'PKCS#11 tokens are not supported; load the key into ssh-agent',
  },
  { flag: '-K', reason: 'GSSAPI is not supported; pgtunnel ssh authenticates with keys only' },
  { flag: '-M', reason: NO_MULTIPLEXING },
  { flag: '-m', argument: 'mac_spec', reason: 'the MAC list is fixed; docs/ssh.md lists it' },
  { flag: '-O', argument: 'ctl_cmd', reason: NO_MULTIPLEXING },
  { flag: '-P', argument: 'tag', reason: 'configuration tags (Match tagged) are not supported' },
  {
    flag: '-Q',
    argument: 'query_option',
    reason: 'not supported; docs/ssh.md lists the algorithms',
  },
  {
    flag: '-R',
    argument: 'spec',
    reason: 'remote forwards are not offered; pgtunnel ssh forwards local ports (-L)',
  },
  { flag: '-S', argument: 'ctl_path', reason: NO_MULTIPLEXING },
  { flag: '-s', reason: `subsystems need a remote session; ${NO_SESSION}` },
  { flag: '-t', reason: `a terminal needs a remote session; ${NO_SESSION}` },
  {
    flag: '-W',
    argument: 'host:port',
    reason: 'stdio forwarding is not offered; use -L (and -J for jump hosts)',
  },
  {
    flag: '-w',
    argument: 'local_tun[:remote_tun]',
    reason: 'tun device forwarding is not supported',
  },
  { flag: '-X', reason: `X11 forwarding needs a remote session; ${NO_SESSION}` },
  { flag: '-Y', reason: `X11 forwarding needs a remote session; ${NO_SESSION}` },
  { flag: '-y', reason: 'logs go to stderr; a service manager can send them to syslog' },
];

/** ssh flags that only turn off what pgtunnel ssh never does; accepted and ignored. */
export const NO_OP_SSH_FLAGS: ReadonlyArray<{ flag: string; why: string }> = [
  { flag: '-2', why: 'SSH protocol 2 is the only one' },
  { flag: '-N', why: 'pgtunnel never runs a remote command' },
  { flag: '-T', why: 'pgtunnel never opens a terminal' },
  { flag: '-n', why: 'pgtunnel never reads stdin' },
  { flag: '-a', why: 'pgtunnel never forwards the agent' },
  { flag: '-x', why: 'pgtunnel never forwards X11' },
  { flag: '-k', why: 'pgtunnel never delegates GSSAPI credentials' },
];

/** The commander attribute name of a one-letter flag (`-D` → `D`). */
export function flagKey(flag: string): string {
  return flag.slice(1);
}

/** Throws the usage error for the first unsupported flag present in `given`, if any. */
export function refuseUnsupportedFlags(given: Readonly<Record<string, unknown>>): void {
  for (const { flag, reason } of UNSUPPORTED_SSH_FLAGS) {
    if (given[flagKey(flag)] !== undefined) {
      throw new PgTunnelError(
        'ERR_USAGE',
        `ssh's ${flag} is not supported by pgtunnel ssh: ${reason}`,
      );
    }
  }
}

/**
 * The log level: --log-level if given, else ssh's -q (errors only) or -v (debug; -vv and -vvv
 * the same, -vvv adding the SSH protocol trace), else info.
 */
export function logLevelFor(flags: {
  logLevel?: LogLevel | undefined;
  quiet?: boolean | undefined;
  verbose?: number | undefined;
}): LogLevel {
  if (flags.logLevel) return flags.logLevel;
  if ((flags.verbose ?? 0) > 0) return 'debug';
  if (flags.quiet) return 'error';
  return 'info';
}

/** -vvv: ssh2's protocol trace is logged too. */
export const PROTOCOL_TRACE_VERBOSITY = 3;
