// Address ranges written as CIDR (`10.0.0.0/8`, `2001:db8::/32`, or one address), as in a
// pg_hba.conf ADDRESS column, for settings that list trusted networks (proxy_protocol_trusted).
import {
  cidrMask,
  clientAddress,
  formatIp,
  type IpAddress,
  inRange,
  parseIp,
} from './ip-address.js';

/** A parsed range; `text` is its canonical form for messages and status output. */
export interface Cidr {
  readonly network: IpAddress;
  readonly mask: Uint8Array;
  readonly text: string;
}

/** Parses `ADDRESS[/BITS]`; throws an Error saying what is wrong. */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  const addressText = slash === -1 ? text : text.slice(0, slash);
  const network = parseIp(addressText);
  if (!network) {
    throw new Error(`"${text}" is not an IP address or CIDR range (e.g. 10.0.0.0/8, fd00::/8)`);
  }
  const bitsText = slash === -1 ? String(network.family === 4 ? 32 : 128) : text.slice(slash + 1);
  const mask = /^\d{1,3}$/.test(bitsText) ? cidrMask(Number(bitsText), network.family) : undefined;
  if (!mask) {
    throw new Error(
      `"${text}" has an invalid mask length (0..${network.family === 4 ? 32 : 128} for IPv${network.family})`,
    );
  }
  return { network, mask, text: `${formatIp(network)}/${bitsText}` };
}

/**
 * True when the socket-reported `address` lies in one of `ranges` (an IPv4-mapped IPv6
 * address counts as IPv4, as pg_hba.conf matching does).
 */
export function inAnyRange(address: string | undefined, ranges: readonly Cidr[]): boolean {
  const ip = address === undefined ? undefined : clientAddress(address);
  return ip !== undefined && ranges.some((range) => inRange(ip, range.network, range.mask));
}

/** A socket-reported address with IPv4-mapped IPv6 (::ffff:10.0.0.1) shown as IPv4. */
export function unmappedAddress(address: string | undefined): string | undefined {
  const ip = address === undefined ? undefined : clientAddress(address);
  return ip ? formatIp(ip) : address;
}
