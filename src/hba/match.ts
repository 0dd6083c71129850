// Chooses the pg_hba.conf rule for a connection, as PostgreSQL's check_hba() does: rules in
// order, the first whose type, address, database and user all match wins; no match rejects.
// Pure apart from reading the machine's interfaces for samehost/samenet when not given them.
import { networkInterfaces } from 'node:os';
import { clientAddress, type IpAddress, inRange, parseIp } from '../net/ip-address.js';
import type { HbaRule, NameToken } from './types.js';

/** What the gateway knows about a connection when it picks a rule. */
export interface ConnectionFacts {
  /** `local` for a Unix-socket client, `tcp` otherwise. */
  transport: 'local' | 'tcp';
  /**
   * Client IP for tcp, as the socket reports it. `::ffff:10.1.2.3` matches IPv4 rules. A tcp
   * connection without a parseable address matches no host rule (fail closed).
   */
  address?: string;
  /** True once TLS is established with the client. */
  ssl: boolean;
  /** The database the client asked for (the user name when the startup packet had none). */
  database: string;
  /** The user name from the startup packet. */
  user: string;
  /**
   * The startup packet's `replication` parameter, see {@link replicationMode}. `true` is a
   * physical replication connection: it matches only the `replication` keyword. `'database'`
   * (logical replication) and `false` match databases as usual.
   */
  replication: boolean | 'database';
  /** Interface addresses for samehost/samenet; defaults to os.networkInterfaces(). */
  localAddresses?: { address: string; netmask: string }[];
}

/** The chosen rule, or none (PostgreSQL's "implicit reject"). */
export type HbaDecision =
  | { readonly matched: true; readonly rule: HbaRule }
  | { readonly matched: false };

/**
 * Picks the first rule matching `facts`; `{ matched: false }` when none does.
 * @example
 * const decision = matchHba(rules, {
 *   transport: 'tcp', address: '10.1.2.3', ssl: true, database: 'app', user: 'alice',
 *   replication: false,
 * });
 */
export function matchHba(rules: readonly HbaRule[], facts: ConnectionFacts): HbaDecision {
  const client =
    facts.transport === 'tcp' && facts.address !== undefined
      ? clientAddress(facts.address)
      : undefined;
  let interfaces: Interface[] | undefined;
  const localInterfaces = () => {
    interfaces ??= readInterfaces(facts.localAddresses);
    return interfaces;
  };

  for (const rule of rules) {
    if (rule.connectionType === 'local') {
      if (facts.transport !== 'local') continue;
    } else {
      if (facts.transport !== 'tcp') continue;
      if (facts.ssl ? rule.connectionType === 'hostnossl' : rule.connectionType === 'hostssl') {
        continue;
      }
      // The gateway never does GSSAPI encryption, as a PostgreSQL built without GSSAPI.
      if (rule.connectionType === 'hostgssenc') continue;
      if (!addressMatches(rule, client, localInterfaces)) continue;
    }
    if (!databaseMatches(rule.databases, facts)) continue;
    if (!userMatches(rule.users, facts.user)) continue;
    return { matched: true, rule };
  }
  return { matched: false };
}

/**
 * Maps the startup packet's `replication` value to {@link ConnectionFacts.replication}, as
 * PostgreSQL reads it: `database` is logical replication, a true boolean word is physical.
 * Returns undefined for a value PostgreSQL would refuse (`invalid value for parameter`).
 */
export function replicationMode(value: string | undefined): boolean | 'database' | undefined {
  if (value === undefined) return false;
  if (value === 'database') return 'database';
  // parse_bool(): case-insensitive, unique prefixes of true/false/yes/no, on/off, 1/0.
  const word = value.toLowerCase();
  if (['on', 'true', 'yes', '1', 't', 'y', 'tr', 'tru', 'ye'].includes(word)) return true;
  if (['off', 'false', 'no', '0', 'f', 'n', 'fa', 'fal', 'fals', 'of'].includes(word)) return false;
  return undefined;
}

interface Interface {
  ip: IpAddress;
  mask: Uint8Array;
}

function readInterfaces(given: ConnectionFacts['localAddresses']): Interface[] {
  const list =
    given ??
    Object.values(networkInterfaces())
      .flat()
      .filter((entry) => entry !== undefined);
  const out: Interface[] = [];
  for (const entry of list) {
    const ip = parseIp(entry.address);
    const mask = parseIp(entry.netmask);
    if (ip && mask && mask.family === ip.family) out.push({ ip, mask: mask.bytes });
  }
  return out;
}

function addressMatches(
  rule: HbaRule,
  client: IpAddress | undefined,
  localInterfaces: () => Interface[],
): boolean {
  const address = rule.address;
  if (!address) return false;
  if (address.kind === 'all') return client !== undefined;
  if (!client) return false;
  switch (address.kind) {
    case 'range':
      return inRange(client, address.network, address.mask);
    case 'samehost':
      // An all-ones mask of the interface's family: the client is one of our addresses.
      return localInterfaces().some((i) => inRange(client, i.ip, allOnes(i.ip.family)));
    case 'samenet':
      return localInterfaces().some((i) => inRange(client, i.ip, i.mask));
  }
}

function allOnes(family: 4 | 6): Uint8Array {
  return new Uint8Array(family === 4 ? 4 : 16).fill(0xff);
}

/** check_db(): keywords first, then regular expressions, then exact names. */
function databaseMatches(tokens: readonly NameToken[], facts: ConnectionFacts): boolean {
  for (const token of tokens) {
    const keyword = token.quoted ? undefined : token.text;
    if (facts.replication === true) {
      // Physical replication connections match only the "replication" keyword.
      if (keyword === 'replication') return true;
      continue;
    }
    if (keyword === 'all') return true;
    if (keyword === 'sameuser') {
      if (facts.database === facts.user) return true;
      continue;
    }
    // Never matches a non-replication connection, not even a database named "replication".
    if (keyword === 'replication') continue;
    if (token.regex) {
      if (token.regex.test(facts.database)) return true;
    } else if (token.text === facts.database) return true;
  }
  return false;
}

/** check_role() without groups (refused at load): `all`, regular expressions, exact names. */
function userMatches(tokens: readonly NameToken[], user: string): boolean {
  for (const token of tokens) {
    if (!token.quoted && token.text === 'all') return true;
    if (token.regex) {
      if (token.regex.test(user)) return true;
    } else if (token.text === user) return true;
  }
  return false;
}
