// sslmode=verify-full's host name check, as libpq's pq_verify_peer_name_matches_certificate()
// does it (fe-secure-common.c, fe-secure-openssl.c): SANs of the host's type first, the CN only
// when there are none, single-label wildcards, and libpq's exact error messages. Pure.
import { isIP } from 'node:net';
import { formatIpBytes } from '../net/ip-text.js';

export type AltName = { type: 'dns'; value: string } | { type: 'ip'; value: string };

/** The names in a server certificate, in certificate order. */
export interface PeerNames {
  altNames: AltName[];
  commonName: string | undefined;
}

/**
 * Parses Node's `subjectaltname` string ("DNS:a, IP Address:127.0.0.1, …"); values with
 * special characters come JSON-quoted. Other name types are skipped, as libpq skips them.
 */
export function parseSubjectAltName(text: string | undefined): AltName[] {
  const names: AltName[] = [];
  if (!text) return names;
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon === -1) break;
    const type = text.slice(i, colon);
    i = colon + 1;
    let value: string;
    if (text[i] === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      value = JSON.parse(text.slice(i, end + 1)) as string;
      i = end + 1;
    } else {
      const comma = text.indexOf(', ', i);
      value = text.slice(i, comma === -1 ? text.length : comma);
      i = comma === -1 ? text.length : comma;
    }
    if (text.startsWith(', ', i)) i += 2;
    if (type === 'DNS') names.push({ type: 'dns', value });
    else if (type === 'IP Address') names.push({ type: 'ip', value });
  }
  return names;
}

/** An IPv4 or IPv6 address as bytes, or undefined if `text` is neither. */
export function ipBytes(text: string): Buffer | undefined {
  const family = isIP(text);
  if (family === 4) return Buffer.from(text.split('.').map(Number));
  if (family !== 6) return undefined;
  // an embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups
  const address = text.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a, b, c, d) =>
    [((Number(a) << 8) | Number(b)).toString(16), ((Number(c) << 8) | Number(d)).toString(16)].join(
      ':',
    ),
  );
  const [head = '', rest] = address.split('::');
  const headGroups = head ? head.split(':') : [];
  const restGroups = rest ? rest.split(':') : [];
  const missing = 8 - headGroups.length - restGroups.length;
  const groups = [
    ...headGroups.map((g) => Number.parseInt(g, 16)),
    ...(rest !== undefined ? new Array<number>(missing).fill(0) : []),
    ...restGroups.map((g) => Number.parseInt(g, 16)),
  ];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, index) => {
    bytes.writeUInt16BE(group, index * 2);
  });
  return bytes;
}

/** libpq's wildcard rule: `*.` then the rest, matching exactly one non-empty leftmost label. */
function nameMatches(pattern: string, host: string): boolean {
  if (pattern.toLowerCase() === host.toLowerCase()) return true;
  if (pattern.length < 3 || !pattern.startsWith('*.')) return false;
  if (pattern.length > host.length) return false;
  const suffixStart = host.length - pattern.length + 1;
  if (pattern.slice(1).toLowerCase() !== host.slice(suffixStart).toLowerCase()) return false;
  const firstDot = host.indexOf('.');
  return !(firstDot !== -1 && firstDot < suffixStart);
}

/**
 * Checks `host` (the `host` the user gave, not hostaddr) against the certificate names.
 * Returns libpq's error message, or undefined when a name matches.
 */
export function peerNameProblem(host: string, names: PeerNames): string | undefined {
  if (host === '') return 'host name must be specified for a verified SSL connection';
  const hostIp = ipBytes(host);
  const hostType = hostIp ? 'ip' : 'dns';
  let examined = 0;
  let firstName: string | undefined;
  let checkCommonName = true;
  for (const name of names.altNames) {
    if (name.type === hostType) checkCommonName = false;
    examined++;
    let shown = name.value;
    let matched: boolean;
    if (name.type === 'dns') {
      matched = nameMatches(name.value, host);
    } else {
      const bytes = ipBytes(name.value);
      if (bytes) shown = formatIpBytes(bytes);
      matched = Boolean(hostIp && bytes && hostIp.equals(bytes));
    }
    firstName ??= shown;
    if (matched) return undefined;
  }
  // Per RFC 6125 the CN is ignored when there are SANs of the host's type; libpq also
  // compares an IP host against the CN as a string.
  if (checkCommonName && names.commonName !== undefined) {
    examined++;
    firstName ??= names.commonName;
    if (nameMatches(names.commonName, host)) return undefined;
  }
  if (examined === 0 || firstName === undefined) {
    return "could not get server's host name from server certificate";
  }
  if (examined === 1)
    return `server certificate for "${firstName}" does not match host name "${host}"`;
  const others = examined - 1;
  return `server certificate for "${firstName}" (and ${others} other name${others === 1 ? '' : 's'}) does not match host name "${host}"`;
}
