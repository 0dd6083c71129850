// OpenSSH known_hosts: parsing, host-key lookup and new entries. Pure: text in, verdicts out;
// reading and appending the file happens in host-key-verifier.ts. Format: sshd(8) "SSH_KNOWN_HOSTS
// FILE FORMAT"; hashed names are `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { keyBlobType } from './host-key.js';
import { matchPatternList } from './host-pattern.js';

/** One usable line of a known_hosts file. */
export interface KnownHostsEntry {
  /** File and 1-based line, for messages ("~/.ssh/known_hosts:3"). */
  file: string;
  line: number;
  /** `@revoked` lines list keys that must never be accepted; `@cert-authority` lines are CAs. */
  marker: 'revoked' | 'cert-authority' | undefined;
  /** Host patterns (plain lines) or one hashed name. */
  hosts: { kind: 'patterns'; patterns: string[] } | { kind: 'hashed'; salt: Buffer; hash: Buffer };
  keyType: string;
  /** The public-key blob, as servers send it. */
  key: Buffer;
}

/** A line that could not be used, with the reason; OpenSSH skips such lines too. */
export interface KnownHostsProblem {
  file: string;
  line: number;
  message: string;
}

export interface KnownHostsFile {
  file: string;
  entries: KnownHostsEntry[];
  problems: KnownHostsProblem[];
}

/** Parses the text of a known_hosts file; `file` is only used in locations and messages. */
export function parseKnownHosts(text: string, file: string): KnownHostsFile {
  const entries: KnownHostsEntry[] = [];
  const problems: KnownHostsProblem[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = index + 1;
    const content = (lines[index] ?? '').replace(/\r$/, '').trim();
    if (content === '' || content.startsWith('#')) continue;
    const fields = content.split(/\s+/);
    let marker: KnownHostsEntry['marker'];
    if (fields[0]?.startsWith('@')) {
      const name = fields.shift();
      if (name === '@revoked') marker = 'revoked';
      else if (name === '@cert-authority') marker = 'cert-authority';
      else {
        problems.push({ file, line, message: `unknown marker ${name}` });
        continue;
      }
    }
    const [hostField, keyType, keyBase64] = fields;
    if (!hostField || !keyType || !keyBase64) {
      problems.push({ file, line, message: 'expected "hosts key-type base64-key"' });
      continue;
    }
    const key = Buffer.from(keyBase64, 'base64');
    if (key.length === 0 || keyBlobType(key) !== keyType) {
      problems.push({ file, line, message: `the ${keyType} key is not valid base64 key data` });
      continue;
    }
    const hosts = parseHostField(hostField);
    if (!hosts) {
      problems.push({ file, line, message: `malformed hashed host name ${hostField}` });
      continue;
    }
    entries.push({ file, line, marker, hosts, keyType, key });
  }
  return { file, entries, problems };
}

function parseHostField(field: string): KnownHostsEntry['hosts'] | undefined {
  if (!field.startsWith('|')) return { kind: 'patterns', patterns: field.split(',') };
  const match = /^\|1\|([A-Za-z0-9+/=]+)\|([A-Za-z0-9+/=]+)$/.exec(field);
  if (!match?.[1] || !match[2]) return undefined;
  const salt = Buffer.from(match[1], 'base64');
  const hash = Buffer.from(match[2], 'base64');
  if (salt.length !== 20 || hash.length !== 20) return undefined;
  return { kind: 'hashed', salt, hash };
}

/** The name a host is filed under: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  const lower = host.toLowerCase();
  return port === 22 ? lower : `[${lower}]:${port}`;
}

function hashName(name: string, salt: Buffer): Buffer {
  return createHmac('sha1', salt).update(name).digest();
}

/** Whether an entry's host field covers `name` (as built by knownHostsName). */
export function entryMatchesName(entry: KnownHostsEntry, name: string): boolean {
  if (entry.hosts.kind === 'patterns') return matchPatternList(entry.hosts.patterns, name);
  return timingSafeEqual(hashName(name, entry.hosts.salt), entry.hosts.hash);
}

/** What known_hosts says about a key a server presented. */
export type HostKeyVerdict =
  /** An entry for this host lists exactly this key. */
  | { kind: 'trusted'; entry: KnownHostsEntry }
  /** A `@revoked` entry lists this key: refuse whatever else says. */
  | { kind: 'revoked'; entry: KnownHostsEntry }
  /** The host is known with a different key of the same type: possibly an attack. */
  | { kind: 'changed'; entries: KnownHostsEntry[] }
  /** The host is known, but only with keys of other types. */
  | { kind: 'other-types'; entries: KnownHostsEntry[] }
  /** Nothing is known about the host; `certAuthorities` lists CA lines that matched it. */
  | { kind: 'unknown'; certAuthorities: KnownHostsEntry[] };

/** Looks up the key a server presented under `name` in the given files (in order). */
export function checkHostKey(
  files: readonly KnownHostsFile[],
  name: string,
  keyType: string,
  key: Buffer,
): HostKeyVerdict {
  const forHost = files.flatMap((f) => f.entries).filter((e) => entryMatchesName(e, name));
  const revoked = forHost.find((e) => e.marker === 'revoked' && e.key.equals(key));
  if (revoked) return { kind: 'revoked', entry: revoked };
  const plain = forHost.filter((e) => e.marker === undefined);
  const trusted = plain.find((e) => e.key.equals(key));
  if (trusted) return { kind: 'trusted', entry: trusted };
  const sameType = plain.filter((e) => e.keyType === keyType);
  if (sameType.length > 0) return { kind: 'changed', entries: sameType };
  if (plain.length > 0) return { kind: 'other-types', entries: plain };
  return { kind: 'unknown', certAuthorities: forHost.filter((e) => e.marker === 'cert-authority') };
}

/** Key types known for `name` (plain entries only), used to order the host-key algorithms. */
export function knownKeyTypes(files: readonly KnownHostsFile[], name: string): string[] {
  const types = new Set<string>();
  for (const file of files) {
    for (const entry of file.entries) {
      if (entry.marker === undefined && entryMatchesName(entry, name)) types.add(entry.keyType);
    }
  }
  return [...types];
}

/**
 * A known_hosts line (without newline) for a newly accepted key. Hashed by default, like
 * `HashKnownHosts yes`, so the file does not list where the user connects to.
 */
export function formatKnownHostsLine(
  name: string,
  key: Buffer,
  options: { hash?: boolean; salt?: Buffer } = {},
): string {
  const keyType = keyBlobType(key);
  if (!keyType) throw new TypeError('not an SSH public-key blob');
  let hostField = name;
  if (options.hash ?? true) {
    const salt = options.salt ?? randomBytes(20);
    hostField = `|1|${salt.toString('base64')}|${hashName(name, salt).toString('base64')}`;
  }
  return `${hostField} ${keyType} ${key.toString('base64')}`;
}
