// Socket addresses as users write them: `host:port`, `[v6]:port`, a bare port, `unix:/path`
// for an exact socket file, or a directory (`/dir`, `/dir:5433`) for PostgreSQL's
// `/dir/.s.PGSQL.<port>` so that `psql -h /dir -p 5433` finds it. Pure.
import { isIP } from 'node:net';
import { posix } from 'node:path';
import { ConfigError } from '../errors.js';

/** A TCP endpoint or a unix-domain socket. */
export type SocketAddress =
  | { kind: 'tcp'; host: string; port: number }
  | {
      kind: 'unix';
      /** The socket file (a leading NUL byte means a Linux abstract socket). */
      path: string;
      /** Set for PostgreSQL-style addresses: the directory and port the path was made from. */
      directory?: string;
      port?: number;
    };

export interface ParseAddressOptions {
  /** Port for a host or socket directory given without one; default 5432. */
  defaultPort?: number;
  /** Host for a bare port (`5433`, `:5433`); default 127.0.0.1 (loopback: safe by default). */
  defaultHost?: string;
  /** Accept port 0 (an ephemeral port, for listeners in tests); default false. */
  allowPortZero?: boolean;
}

/** PostgreSQL's socket file name inside a socket directory. */
export function postgresSocketPath(directory: string, port: number): string {
  return posix.join(directory, `.s.PGSQL.${port}`);
}

function invalid(text: string, why: string): ConfigError {
  return new ConfigError('ERR_CONFIG_INVALID', `invalid address "${text}": ${why}`);
}

function parsePort(text: string, portText: string, allowZero: boolean): number {
  if (!/^\d{1,5}$/.test(portText)) throw invalid(text, `"${portText}" is not a port number`);
  const port = Number(portText);
  if (port > 65535 || (port === 0 && !allowZero)) {
    throw invalid(text, `port ${portText} is out of range (1-65535)`);
  }
  return port;
}

/**
 * Parses a listen or connect address.
 *
 * @example parseSocketAddress('127.0.0.1:5433')  // { kind: 'tcp', host: '127.0.0.1', port: 5433 }
 * @example parseSocketAddress('[::1]:5433')      // { kind: 'tcp', host: '::1', port: 5433 }
 * @example parseSocketAddress('5433')            // { kind: 'tcp', host: '127.0.0.1', port: 5433 }
 * @example parseSocketAddress('unix:/run/pg.sock')
 * @example parseSocketAddress('/run/pgtunnel:5433') // path /run/pgtunnel/.s.PGSQL.5433
 */
export function parseSocketAddress(text: string, options: ParseAddressOptions = {}): SocketAddress {
  const defaultPort = options.defaultPort ?? 5432;
  const defaultHost = options.defaultHost ?? '127.0.0.1';
  const allowZero = options.allowPortZero ?? false;
  const trimmed = text.trim();
  if (trimmed === '') throw invalid(text, 'it is empty');

  if (trimmed.startsWith('unix:')) {
    const path = trimmed.slice('unix:'.length);
    if (path === '') throw invalid(text, 'the socket path is empty');
    if (path.startsWith('@')) return { kind: 'unix', path: `\0${path.slice(1)}` };
    return { kind: 'unix', path };
  }
  if (trimmed.startsWith('/')) {
    const match = /^(.*):(\d+)$/.exec(trimmed);
    const directory = posix.normalize(match?.[1] ?? trimmed).replace(/(.)\/$/, '$1');
    const port = match?.[2] !== undefined ? parsePort(text, match[2], false) : defaultPort;
    return { kind: 'unix', path: postgresSocketPath(directory, port), directory, port };
  }
  if (trimmed.startsWith('[')) {
    const close = trimmed.indexOf(']');
    if (close === -1) throw invalid(text, 'missing "]" after the IPv6 address');
    const host = trimmed.slice(1, close);
    if (isIP(host) !== 6) throw invalid(text, `"${host}" is not an IPv6 address`);
    const rest = trimmed.slice(close + 1);
    if (rest === '') return { kind: 'tcp', host, port: defaultPort };
    if (!rest.startsWith(':')) throw invalid(text, 'expected ":port" after "]"');
    return { kind: 'tcp', host, port: parsePort(text, rest.slice(1), allowZero) };
  }
  if (/^:?\d+$/.test(trimmed)) {
    return {
      kind: 'tcp',
      host: defaultHost,
      port: parsePort(text, trimmed.replace(':', ''), allowZero),
    };
  }
  const colons = trimmed.split(':').length - 1;
  if (colons > 1) throw invalid(text, 'write IPv6 addresses in brackets, e.g. [::1]:5432');
  const [host = '', portText] = trimmed.split(':');
  if (host === '') throw invalid(text, 'the host is empty');
  if (!/^[A-Za-z0-9._-]+$/.test(host)) throw invalid(text, `"${host}" is not a host name`);
  if (/^[\d.]+$/.test(host) && isIP(host) !== 4)
    throw invalid(text, `"${host}" is not an IPv4 address`);
  const port = portText === undefined ? defaultPort : parsePort(text, portText, allowZero);
  return { kind: 'tcp', host, port };
}

/** How an address is shown in logs and messages: `127.0.0.1:5433`, `[::1]:5433`, a path. */
export function formatSocketAddress(address: SocketAddress): string {
  if (address.kind === 'unix') {
    return address.path.startsWith('\0') ? `unix:@${address.path.slice(1)}` : address.path;
  }
  return isIP(address.host) === 6
    ? `[${address.host}]:${address.port}`
    : `${address.host}:${address.port}`;
}
