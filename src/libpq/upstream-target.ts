// Turns a parsed connection string into the list of servers to try, with libpq's checks from
// connectOptions2(): host/hostaddr/port lists of matching length, valid sslmode and friends.
import { existsSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { ConnInfo } from './conninfo.js';
import { isSslMode, type SslMode, sslSettingsProblem } from './sslmode.js';

/** One server to connect to, with the TLS settings libpq would use for it. */
export interface UpstreamTarget {
  /**
   * Host name, IP address, or an absolute directory path for a unix socket
   * (`/dir` → `/dir/.s.PGSQL.<port>`; `@name` is a Linux abstract socket). Empty when only
   * `hostaddr` was given.
   */
  host: string;
  port: number;
  /** Numeric address to connect to instead of resolving `host` (which is still verified). */
  hostaddr?: string;
  sslmode: SslMode;
  /** A file path, or `system` for the operating system's CA store (forces verify-full). */
  sslrootcert?: string;
  sslcert?: string;
  sslkey?: string;
  /** Passphrase of an encrypted sslkey. */
  sslpassword?: string;
  sslcrl?: string;
  sslcrldir?: string;
  /** `disable` never sends a client certificate; default `allow`. */
  sslcertmode?: 'allow' | 'disable';
  /** `direct` (libpq 17+): TLS right away with ALPN `postgresql`, no SSLRequest. */
  sslnegotiation?: 'postgres' | 'direct';
  /** Send SNI for host names (never for IP literals); default true. */
  sslsni?: boolean;
  /** `TLSv1`, `TLSv1.1`, `TLSv1.2` (default) or `TLSv1.3`. */
  sslMinProtocolVersion?: string;
  sslMaxProtocolVersion?: string;
  /** Per-address time limit for connecting, TLS and the first reply; libpq's minimum is 2 s. */
  connectTimeoutMs?: number;
  /** TCP keepalives (libpq's default: on). */
  keepalives?: boolean;
  keepalivesIdleSeconds?: number;
  /** load_balance_hosts=random: try the hosts, and each host's addresses, in random order. */
  loadBalanceHosts?: boolean;
}

const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;

function connInfoError(message: string): ConfigError {
  return new ConfigError('ERR_CONNINFO', message);
}

/** libpq's compiled-in socket directory: Debian's, else the upstream default. */
export function defaultSocketDirectory(exists: (path: string) => boolean = existsSync): string {
  return exists('/var/run/postgresql') ? '/var/run/postgresql' : '/tmp';
}

/** pqParseIntParam(): an integer with optional surrounding whitespace. */
function parseIntParam(value: string, keyword: string): number {
  if (!/^\s*[+-]?\d+\s*$/.test(value)) {
    throw connInfoError(`invalid integer value "${value}" for connection option "${keyword}"`);
  }
  return Number.parseInt(value, 10);
}

function parsePort(value: string): number {
  const trimmed = value.trim();
  const port = /^[+-]?\d+$/.test(trimmed) ? Number.parseInt(trimmed, 10) : Number.NaN;
  if (!(port >= 1 && port <= 65535)) throw connInfoError(`invalid port number: "${value}"`);
  return port;
}

function normalizeTlsVersion(value: string | undefined, keyword: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  const match = TLS_VERSIONS.find((v) => v.toLowerCase() === value.toLowerCase());
  if (!match) throw connInfoError(`invalid ${keyword} value: "${value}"`);
  return match;
}

function oneOf<T extends string>(value: string, allowed: readonly T[], keyword: string): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw connInfoError(`invalid ${keyword} value: "${value}"`);
  }
  return value as T;
}

/** libpq treats a leading '/' (and '@' for abstract sockets on Linux) as a socket directory. */
export function isUnixSocketHost(host: string): boolean {
  return host.startsWith('/') || host.startsWith('@');
}

/**
 * Every server the connection string names, in the order libpq tries them. Throws ConfigError
 * ERR_CONNINFO with libpq's message for mismatched lists and invalid values.
 */
export function targetsFromConnInfo(
  info: ConnInfo,
  options: { exists?: (path: string) => boolean } = {},
): UpstreamTarget[] {
  const hostaddrs = info.hostaddr ? info.hostaddr.split(',') : [];
  const hosts = info.host ? info.host.split(',') : [];
  const count = hostaddrs.length || hosts.length || 1;
  if (hostaddrs.length > 0 && hosts.length > 0 && hosts.length !== hostaddrs.length) {
    throw connInfoError(
      `could not match ${hosts.length} host names to ${hostaddrs.length} hostaddr values`,
    );
  }
  const ports = info.port ? info.port.split(',') : [];
  if (ports.length > 1 && ports.length !== count) {
    throw connInfoError(`could not match ${ports.length} port numbers to ${count} hosts`);
  }

  const sslmode = info.sslmode ?? 'prefer';
  if (!isSslMode(sslmode)) throw connInfoError(`invalid sslmode value: "${sslmode}"`);
  const sslnegotiation = oneOf(
    info.sslnegotiation || 'postgres',
    ['postgres', 'direct'] as const,
    'sslnegotiation',
  );
  const problem = sslSettingsProblem({ sslmode, sslrootcert: info.sslrootcert, sslnegotiation });
  if (problem) throw connInfoError(problem);
  const sslcertmode = oneOf(
    info.sslcertmode || 'allow',
    ['allow', 'disable', 'require'] as const,
    'sslcertmode',
  );
  if (sslcertmode === 'require') {
    throw connInfoError(
      'sslcertmode value "require" is not supported: pgtunnel cannot tell whether the server ' +
        'asked for a certificate; use "allow"',
    );
  }
  const gssencmode = oneOf(
    info.gssencmode || 'disable',
    ['disable', 'prefer', 'require'] as const,
    'gssencmode',
  );
  if (gssencmode === 'require') {
    throw connInfoError(
      'gssencmode value "require" invalid when GSSAPI support is not compiled in',
    );
  }
  // The tunnel passes authentication through unread, so it cannot learn a server's state
  // (libpq asks after logging in) and then move on to the next host with the same client.
  const targetSessionAttrs = oneOf(
    info.target_session_attrs || 'any',
    ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'] as const,
    'target_session_attrs',
  );
  if (targetSessionAttrs !== 'any') {
    throw connInfoError(
      `target_session_attrs value "${targetSessionAttrs}" is not supported by pgtunnel: ` +
        'it would have to log in to each server before the client does; list only the ' +
        'servers wanted, or use "any"',
    );
  }
  const loadBalanceHosts =
    oneOf(
      info.load_balance_hosts || 'disable',
      ['disable', 'random'] as const,
      'load_balance_hosts',
    ) === 'random';
  if (info.requirepeer) {
    throw connInfoError('requirepeer is not supported by pgtunnel: remove it');
  }
  const minVersion = normalizeTlsVersion(info.ssl_min_protocol_version, 'ssl_min_protocol_version');
  const maxVersion = normalizeTlsVersion(info.ssl_max_protocol_version, 'ssl_max_protocol_version');
  if (
    minVersion &&
    maxVersion &&
    TLS_VERSIONS.indexOf(minVersion as (typeof TLS_VERSIONS)[number]) >
      TLS_VERSIONS.indexOf(maxVersion as (typeof TLS_VERSIONS)[number])
  ) {
    throw connInfoError('invalid SSL protocol version range');
  }
  let connectTimeoutMs: number | undefined;
  if (info.connect_timeout) {
    const seconds = parseIntParam(info.connect_timeout, 'connect_timeout');
    // libpq rounds up to two seconds so a timeout cannot fire almost at once
    if (seconds > 0) connectTimeoutMs = Math.max(seconds, 2) * 1000;
  }
  const keepalives = info.keepalives ? parseIntParam(info.keepalives, 'keepalives') !== 0 : true;
  const keepalivesIdle = info.keepalives_idle
    ? parseIntParam(info.keepalives_idle, 'keepalives_idle')
    : undefined;

  const targets: UpstreamTarget[] = [];
  for (let i = 0; i < count; i++) {
    const hostaddr = hostaddrs[i] ?? '';
    let host = hosts[i] ?? '';
    if (hostaddr === '' && host === '') host = defaultSocketDirectory(options.exists);
    const portText = ports.length === 1 ? (ports[0] ?? '') : (ports[i] ?? '');
    const target: UpstreamTarget = {
      host,
      port: portText.trim() === '' ? 5432 : parsePort(portText),
      sslmode,
      sslnegotiation,
      sslsni: (info.sslsni ?? '1').startsWith('1'),
      sslcertmode,
      keepalives,
    };
    if (hostaddr !== '') target.hostaddr = hostaddr;
    if (loadBalanceHosts) target.loadBalanceHosts = true;
    if (info.sslrootcert) target.sslrootcert = info.sslrootcert;
    if (info.sslcert) target.sslcert = info.sslcert;
    if (info.sslkey) target.sslkey = info.sslkey;
    if (info.sslpassword) target.sslpassword = info.sslpassword;
    if (info.sslcrl) target.sslcrl = info.sslcrl;
    if (info.sslcrldir) target.sslcrldir = info.sslcrldir;
    if (minVersion) target.sslMinProtocolVersion = minVersion;
    if (maxVersion) target.sslMaxProtocolVersion = maxVersion;
    if (connectTimeoutMs !== undefined) target.connectTimeoutMs = connectTimeoutMs;
    if (keepalivesIdle !== undefined && keepalivesIdle > 0) {
      target.keepalivesIdleSeconds = keepalivesIdle;
    }
    targets.push(target);
  }
  return targets;
}
