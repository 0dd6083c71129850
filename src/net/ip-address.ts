// IP addresses as byte arrays, for pg_hba.conf matching and trusted-network settings: parsing
// (validated with net.isIP first, never a lenient parser), CIDR masks, bitwise range checks,
// and IPv4-mapped IPv6 clients.
import { isIP } from 'node:net';
import { formatIpBytes } from './ip-text.js';

/** An IPv4 (4 bytes) or IPv6 (16 bytes) address. */
export interface IpAddress {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
}

/**
 * Parses a numeric IPv4 or IPv6 address; undefined for anything else (host names, `10.1`,
 * `010.1.1.1`, zone ids such as `fe80::1%eth0`, brackets, blanks).
 */
export function parseIp(text: string): IpAddress | undefined {
  const version = isIP(text);
  if (version === 4) return { family: 4, bytes: parseIpv4(text) };
  if (version === 6 && !text.includes('%')) return { family: 6, bytes: parseIpv6(text) };
  return undefined;
}

function parseIpv4(text: string): Uint8Array {
  return Uint8Array.from(text.split('.').map((part) => Number(part)));
}

/** Expects text that net.isIP() accepted as IPv6 (with `::` and a dotted IPv4 tail allowed). */
function parseIpv6(text: string): Uint8Array {
  const groups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const v4 = parseIpv4(piece);
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else {
        out.push(Number.parseInt(piece, 16));
      }
    }
    return out;
  };
  const gap = text.indexOf('::');
  const head = groups(gap === -1 ? text : text.slice(0, gap));
  const tail = gap === -1 ? [] : groups(text.slice(gap + 2));
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((group, i) => {
    bytes[i * 2] = group >> 8;
    bytes[i * 2 + 1] = group & 0xff;
  });
  return bytes;
}

/** A mask of `bits` leading ones; undefined when `bits` is out of range for the family. */
export function cidrMask(bits: number, family: 4 | 6): Uint8Array | undefined {
  const length = family === 4 ? 4 : 16;
  if (!Number.isInteger(bits) || bits < 0 || bits > length * 8) return undefined;
  const mask = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const take = Math.max(0, Math.min(8, bits - i * 8));
    mask[i] = (0xff << (8 - take)) & 0xff;
  }
  return mask;
}

/**
 * PostgreSQL's pg_range_sockaddr(): true when `address` and `network` agree on every bit set in
 * `mask`. Families must agree; masks need not be contiguous (a separate mask column may say
 * 255.0.255.0 and PostgreSQL honours it bit by bit).
 */
export function inRange(address: IpAddress, network: IpAddress, mask: Uint8Array): boolean {
  if (address.family !== network.family || mask.length !== address.bytes.length) return false;
  for (let i = 0; i < mask.length; i++) {
    if ((((address.bytes[i] ?? 0) ^ (network.bytes[i] ?? 0)) & (mask[i] ?? 0)) !== 0) return false;
  }
  return true;
}

/**
 * Parses a client address as a socket reports it. A dual-stack listener reports IPv4 clients
 * as `::ffff:a.b.c.d`; PostgreSQL, listening on IPv4, would have seen `a.b.c.d`, so such
 * addresses become IPv4 and match IPv4 rules (and print as IPv4 in messages).
 */
export function clientAddress(text: string): IpAddress | undefined {
  const ip = parseIp(text);
  if (!ip || ip.family === 4) return ip;
  const b = ip.bytes;
  const mapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  return mapped ? { family: 4, bytes: b.slice(12) } : ip;
}

/** Text form for messages: dotted IPv4, or RFC 5952 compressed IPv6 as getnameinfo() prints. */
export function formatIp(ip: IpAddress): string {
  return formatIpBytes(ip.bytes);
}
