// Parsing and checking subject alternative names given on the command line
// (`DNS:db.example.com`, `IP:10.0.0.5`, or a bare name or address).
import { isIP } from 'node:net';
import { PgTunnelError } from '../errors.js';
import type { SubjectAltName } from './issue.js';

const DNS_LABEL = /^(\*|[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)$/i;

/** True for a syntactically valid DNS name; a wildcard is allowed only as the first label. */
export function isDnsName(value: string): boolean {
  if (value.length === 0 || value.length > 253) return false;
  const labels = value.replace(/\.$/, '').split('.');
  return labels.every((label, i) => DNS_LABEL.test(label) && (label !== '*' || i === 0));
}

/** Parses one SAN argument. Addresses are checked with `net.isIP`, which rejects `010.1.1.1`. */
export function parseSan(value: string): SubjectAltName {
  const match = /^(dns|ip):(.*)$/i.exec(value.trim());
  if (match) {
    const type = match[1]!.toLowerCase() as 'dns' | 'ip';
    const name = match[2]!.trim();
    if (type === 'ip') {
      if (isIP(name) === 0) throw usage(`"${name}" in --san ${value} is not an IP address`);
      return { type, value: name };
    }
    if (!isDnsName(name)) throw usage(`"${name}" in --san ${value} is not a valid DNS name`);
    return { type, value: name.toLowerCase() };
  }
  const bare = value.trim();
  if (isIP(bare) !== 0) return { type: 'ip', value: bare };
  if (isDnsName(bare)) return { type: 'dns', value: bare.toLowerCase() };
  throw usage(
    `--san ${value} is neither a DNS name nor an IP address (write DNS:name or IP:address)`,
  );
}

/** Parses a list of SAN arguments, each possibly comma-separated, dropping duplicates. */
export function parseSans(values: readonly string[]): SubjectAltName[] {
  const sans: SubjectAltName[] = [];
  for (const value of values.flatMap((v) => v.split(','))) {
    if (value.trim() === '') continue;
    const san = parseSan(value);
    if (!sans.some((s) => s.type === san.type && s.value === san.value)) sans.push(san);
  }
  return sans;
}

/**
 * The SANs of a server certificate. The CN must be a host name or address, and is added as a SAN
 * (unless `addCommonName` is off) because libpq's verify-full ignores the CN once any DNS SAN
 * exists.
 */
export function serverSans(
  commonName: string,
  values: readonly string[],
  addCommonName: boolean,
): SubjectAltName[] {
  const sans = parseSans(values);
  if (!addCommonName) return sans;
  if (isIP(commonName) === 0 && !isDnsName(commonName)) {
    throw usage(
      `a server certificate's --cn must be the host name clients connect to (a DNS name or IP address), not "${commonName}"`,
    );
  }
  const cn = parseSan(commonName);
  if (!sans.some((s) => s.type === cn.type && s.value === cn.value)) sans.unshift(cn);
  return sans;
}

/** `DNS:name` / `IP:address`, the form the index and `ca list` show. */
export function formatSan(san: SubjectAltName): string {
  return `${san.type.toUpperCase()}:${san.value}`;
}

function usage(message: string): PgTunnelError {
  return new PgTunnelError('ERR_USAGE', message);
}
