// SSH destinations as ssh(1) accepts them: `[user@]host`, `ssh://[user@]host[:port]`, and
// `-J` hop lists of `[user@]host[:port]` separated by commas. Pure parsing, no lookups.
import { PgTunnelError } from '../errors.js';

/** One SSH host as written by the user; `host` may still be a ~/.ssh/config alias. */
export interface Destination {
  user: string | undefined;
  host: string;
  port: number | undefined;
}

/** Parses the destination argument: `[user@]host` or `ssh://[user@]host[:port]`. */
export function parseDestination(text: string): Destination {
  if (text.startsWith('ssh://')) return parseHostWithPort(text.slice('ssh://'.length), text);
  const { user, rest } = splitUser(text, text);
  const host = stripBrackets(rest);
  if (!host || /[\s/]/.test(host)) throw invalid(text, 'expected [user@]host');
  return { user, host, port: undefined };
}

/** Parses a `-J`/ProxyJump list: `[user@]host[:port]` or ssh:// URIs, comma-separated. */
export function parseJumpList(text: string): Destination[] {
  if (text.trim() === '') {
    throw new PgTunnelError('ERR_USAGE', 'the jump host list (-J or ProxyJump) is empty');
  }
  return text.split(',').map((part) => {
    const hop = part.trim();
    return parseHostWithPort(hop.startsWith('ssh://') ? hop.slice(6) : hop, text);
  });
}

function parseHostWithPort(text: string, original: string): Destination {
  const { user, rest } = splitUser(text.replace(/\/$/, ''), original);
  let host = rest;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(rest);
  if (bracketed?.[1]) {
    host = bracketed[1];
    portText = bracketed[2];
  } else if ((rest.match(/:/g) ?? []).length === 1) {
    [host = '', portText] = rest.split(':');
  }
  if (!host || /[\s/]/.test(host)) throw invalid(original, 'expected [user@]host[:port]');
  const port =
    portText === undefined
      ? undefined
      : parsePort(portText, `invalid SSH destination "${original}"`);
  return { user, host, port };
}

function splitUser(text: string, original: string): { user: string | undefined; rest: string } {
  const at = text.lastIndexOf('@');
  if (at === -1) return { user: undefined, rest: text };
  const user = text.slice(0, at);
  if (!user) throw invalid(original, 'the user name before "@" is empty');
  return { user, rest: text.slice(at + 1) };
}

function stripBrackets(host: string): string {
  return /^\[[^\]]+\]$/.test(host) ? host.slice(1, -1) : host;
}

/** A TCP port 1-65535 from text, or a usage error starting with `context` ("invalid -p"). */
export function parsePort(text: string, context: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) {
    throw new PgTunnelError('ERR_USAGE', `${context}: "${text}" is not a port number (1-65535)`);
  }
  return port;
}

function invalid(text: string, why: string): PgTunnelError {
  return new PgTunnelError('ERR_USAGE', `invalid SSH destination "${text}": ${why}`);
}

/** `user@host:port`, bracketing IPv6 addresses, for messages. */
export function formatDestination(d: { user?: string | undefined; host: string; port: number }) {
  const host = d.host.includes(':') ? `[${d.host}]` : d.host;
  return `${d.user ? `${d.user}@` : ''}${host}:${d.port}`;
}
