// pg_hba.conf text to rules, following PostgreSQL's parse_hba_line() and parse_hba_auth_opt()
// (src/backend/libpq/hba.c, PostgreSQL 18): same keywords, same checks, same messages where
// PostgreSQL has one. Lines the gateway cannot enforce fail the load with a reason.

import type { FileSource } from '../config/file-source.js';
import { cidrMask, parseIp } from '../net/ip-address.js';
import { HbaConfigError, type HbaProblem, type HbaWarning, problem } from './problems.js';
import { compileNameToken } from './regex.js';
import { type TokenizedLine, tokenizeAuthFile } from './tokenize.js';
import type { ConnectionType, HbaAddress, HbaMethod, HbaRule, NameToken } from './types.js';

/** Options for {@link parseHba}. */
export interface ParseHbaOptions {
  /**
   * Reads files named by `@file`, `include`, `include_if_exists` and `include_dir`, relative
   * to the including file. Without one, any include is an error on its line.
   */
  reader?: FileSource | undefined;
}

/** The result of a successful parse. */
export interface ParsedHba {
  /** In file order (included lines where their include directive was). */
  readonly rules: readonly HbaRule[];
  /** Things worth logging that do not stop the load (e.g. `hostgssenc` lines never match). */
  readonly warnings: readonly HbaWarning[];
}

const CONNECTION_TYPES: ReadonlySet<string> = new Set([
  'local',
  'host',
  'hostssl',
  'hostnossl',
  'hostgssenc',
  'hostnogssenc',
]);

/** Every method PostgreSQL 18 knows; those not in SUPPORTED_METHODS fail as unsupported. */
const POSTGRES_METHODS: ReadonlySet<string> = new Set([
  'trust',
  'reject',
  'md5',
  'password',
  'scram-sha-256',
  'cert',
  'ident',
  'peer',
  'gss',
  'sspi',
  'pam',
  'bsd',
  'ldap',
  'radius',
  'oauth',
]);

const SUPPORTED_METHODS: ReadonlySet<string> = new Set<HbaMethod>([
  'trust',
  'reject',
  'md5',
  'password',
  'scram-sha-256',
  'cert',
]);

/** Why a PostgreSQL method cannot be enforced by the gateway, and what to write instead. */
const UNSUPPORTED_METHODS: Record<string, string> = {
  ident:
    'it asks an ident server on the client machine who the user is, and the gateway does not ' +
    'query ident servers; use "cert" (with map= to tie certificate names to users) or "scram-sha-256"',
  peer:
    'it needs the operating-system user of a Unix-socket client, which the gateway does not ' +
    'look up; use "scram-sha-256", or "trust" if the socket file permissions are the control',
  gss:
    'Kerberos (GSSAPI) authentication cannot be relayed through the gateway; use "cert" or ' +
    '"scram-sha-256"',
  sspi:
    'SSPI (Windows Kerberos) authentication cannot be relayed through the gateway; use "cert" or ' +
    '"scram-sha-256"',
  ldap: passwordServiceHint('ldap', 'an LDAP server'),
  radius: passwordServiceHint('radius', 'a RADIUS server'),
  pam: passwordServiceHint('pam', 'PAM'),
  bsd: passwordServiceHint('bsd', 'BSD Authentication'),
  oauth:
    'the gateway cannot validate OAuth bearer tokens; write "trust" here and keep "oauth" in ' +
    "PostgreSQL's own pg_hba.conf: the token exchange then passes through the gateway to PostgreSQL",
};

function passwordServiceHint(method: string, service: string): string {
  return (
    `it checks the password with ${service}, which the gateway does not contact; write ` +
    `"password" here and keep "${method}" in PostgreSQL's own pg_hba.conf: the password ` +
    'exchange then passes through the gateway to PostgreSQL'
  );
}

/** Options PostgreSQL accepts only for methods the gateway refuses (INVALID_AUTH_OPTION). */
const OTHER_METHOD_OPTIONS: Record<string, string> = {
  pamservice: 'pam',
  pam_use_hostname: 'pam',
  ldapurl: 'ldap',
  ldaptls: 'ldap',
  ldapscheme: 'ldap',
  ldapserver: 'ldap',
  ldapport: 'ldap',
  ldapbinddn: 'ldap',
  ldapbindpasswd: 'ldap',
  ldapsearchattribute: 'ldap',
  ldapsearchfilter: 'ldap',
  ldapbasedn: 'ldap',
  ldapprefix: 'ldap',
  ldapsuffix: 'ldap',
  krb_realm: 'gssapi and sspi',
  include_realm: 'gssapi and sspi',
  compat_realm: 'sspi',
  upn_username: 'sspi',
  radiusservers: 'radius',
  radiusports: 'radius',
  radiussecrets: 'radius',
  radiusidentifiers: 'radius',
  issuer: 'oauth',
  scope: 'oauth',
  validator: 'oauth',
  delegate_ident_mapping: 'oauth',
};

/**
 * Parses pg_hba.conf text. `file` names the text in messages and anchors relative includes.
 *
 * @throws HbaConfigError listing every bad line (file:line and PostgreSQL-style message), or
 *   `configuration file "…" contains no entries` when nothing but comments remain.
 * @example
 * const { rules } = parseHba('hostssl all all 0.0.0.0/0 cert\n', '/etc/pgtunnel/pg_hba.conf');
 */
export function parseHba(text: string, file: string, options: ParseHbaOptions = {}): ParsedHba {
  const tokenizeWarnings: { location: string; message: string }[] = [];
  const lines = tokenizeAuthFile(text, file, {
    reader: options.reader,
    warnings: tokenizeWarnings,
  });
  const rules: HbaRule[] = [];
  const problems: HbaProblem[] = [];
  const warnings: HbaWarning[] = [...tokenizeWarnings];
  for (const line of lines) {
    if (line.error !== undefined) {
      problems.push(problem('ERR_HBA_SYNTAX', line.file, line.line, line.error));
      continue;
    }
    const parsed = parseHbaLine(line);
    if ('code' in parsed) {
      problems.push(parsed);
      continue;
    }
    if (parsed.connectionType === 'hostgssenc') {
      warnings.push({
        location: `${line.file}:${line.line}`,
        message: 'hostgssenc record cannot match because the gateway does not do GSSAPI encryption',
      });
    }
    rules.push(parsed);
  }
  if (problems.length > 0) throw new HbaConfigError(problems);
  if (rules.length === 0) {
    throw new HbaConfigError([
      problem(
        'ERR_HBA_SYNTAX',
        file,
        undefined,
        `configuration file "${file}" contains no entries`,
      ),
    ]);
  }
  return { rules, warnings };
}

/** parse_hba_line(): one tokenized line to a rule, or the first problem found on it. */
export function parseHbaLine(tokLine: TokenizedLine): HbaRule | HbaProblem {
  const { file, line } = tokLine;
  const syntax = (message: string) => problem('ERR_HBA_SYNTAX', file, line, message);
  const unsupported = (message: string) => problem('ERR_HBA_UNSUPPORTED', file, line, message);
  const fields = tokLine.fields;
  let index = 0;

  // Connection type. PostgreSQL compares these words without regard to quoting.
  const typeTokens = fields[index++] ?? [];
  if (typeTokens.length > 1) {
    return syntax(
      'multiple values specified for connection type; specify exactly one connection type per line',
    );
  }
  const typeText = typeTokens[0]?.text ?? '';
  if (!CONNECTION_TYPES.has(typeText)) return syntax(`invalid connection type "${typeText}"`);
  const connectionType = typeText as ConnectionType;

  const databaseTokens = fields[index++];
  if (!databaseTokens) return syntax('end-of-line before database specification');
  const databases: NameToken[] = [];
  for (const token of databaseTokens) {
    if (!token.quoted && (token.text === 'samerole' || token.text === 'samegroup')) {
      return unsupported(
        `"${token.text}" cannot be checked by pgtunnel: the gateway does not read ` +
          "PostgreSQL's role memberships; list the database names instead",
      );
    }
    const compiled = compileNameToken(token);
    if (typeof compiled === 'string') return syntax(compiled);
    databases.push(compiled);
  }

  const userTokens = fields[index++];
  if (!userTokens) return syntax('end-of-line before role specification');
  const users: NameToken[] = [];
  for (const token of userTokens) {
    if (!token.quoted && token.text.startsWith('+')) {
      return unsupported(
        `group membership ("${token.text}") cannot be checked by pgtunnel: the gateway does ` +
          "not read PostgreSQL's role memberships; list the user names, or use @file or a /regex",
      );
    }
    const compiled = compileNameToken(token);
    if (typeof compiled === 'string') return syntax(compiled);
    users.push(compiled);
  }

  let address: HbaAddress | undefined;
  if (connectionType !== 'local') {
    const parsed = parseAddress(fields, index, syntax, unsupported);
    if ('code' in parsed) return parsed;
    address = parsed.address;
    index = parsed.next;
  }

  const methodTokens = fields[index++];
  if (!methodTokens) return syntax('end-of-line before authentication method');
  if (methodTokens.length > 1) {
    return syntax(
      'multiple values specified for authentication type; specify exactly one authentication ' +
        'type per line',
    );
  }
  const written = methodTokens[0]?.text ?? '';
  if (!POSTGRES_METHODS.has(written)) return syntax(`invalid authentication method "${written}"`);
  // PostgreSQL treats "ident" on local lines as "peer", for backwards compatibility.
  const methodName = connectionType === 'local' && written === 'ident' ? 'peer' : written;
  if (connectionType === 'local' && methodName === 'gss') {
    return syntax('gssapi authentication is not supported on local sockets');
  }
  if (connectionType !== 'local' && methodName === 'peer') {
    return syntax('peer authentication is only supported on local sockets');
  }
  if (connectionType !== 'hostssl' && methodName === 'cert') {
    return syntax('cert authentication is only supported on hostssl connections');
  }
  if (!SUPPORTED_METHODS.has(methodName)) {
    const alias = methodName !== written ? ` ("${written}" on a local line means "peer")` : '';
    return unsupported(
      `authentication method "${methodName}"${alias} cannot be enforced by pgtunnel: ` +
        `${UNSUPPORTED_METHODS[methodName] ?? 'the gateway does not implement it'}`,
    );
  }
  const method = methodName as HbaMethod;

  let clientCert: HbaRule['clientCert'] = 'off';
  let clientName: HbaRule['clientName'] = 'CN';
  let map: string | undefined;
  for (const field of fields.slice(index)) {
    for (const token of field) {
      const eq = token.text.indexOf('=');
      if (eq === -1) {
        return syntax(`authentication option not in name=value format: ${token.text}`);
      }
      const name = token.text.slice(0, eq);
      const value = token.text.slice(eq + 1);
      if (name === 'map') {
        if (method !== 'cert') {
          return syntax('authentication option "map" is only valid for authentication method cert');
        }
        map = value;
      } else if (name === 'clientcert') {
        if (connectionType !== 'hostssl') {
          return syntax('clientcert can only be configured for "hostssl" rows');
        }
        if (value === 'verify-full') clientCert = 'verify-full';
        else if (value === 'verify-ca') {
          if (method === 'cert') {
            return syntax('clientcert only accepts "verify-full" when using "cert" authentication');
          }
          clientCert = 'verify-ca';
        } else {
          return syntax(
            `invalid value for clientcert: "${value}"; use "verify-ca" or "verify-full"`,
          );
        }
      } else if (name === 'clientname') {
        if (connectionType !== 'hostssl') {
          return syntax('clientname can only be configured for "hostssl" rows');
        }
        if (value !== 'CN' && value !== 'DN') {
          return syntax(`invalid value for clientname: "${value}"; use "CN" or "DN"`);
        }
        clientName = value;
      } else if (OTHER_METHOD_OPTIONS[name] !== undefined) {
        return syntax(
          `authentication option "${name}" is only valid for authentication methods ` +
            OTHER_METHOD_OPTIONS[name],
        );
      } else {
        return syntax(`unrecognized authentication option name: "${name}"`);
      }
    }
  }
  // For "cert", certificate validation is mandatory and implies verify-full.
  if (method === 'cert') clientCert = 'verify-full';

  return {
    file,
    line,
    rawLine: tokLine.rawLine,
    connectionType,
    databases,
    users,
    address,
    method,
    clientCert,
    clientName,
    map,
  };
}

type ProblemMaker = (message: string) => HbaProblem;

// Some C parsers read "10.1" as 10.0.0.1 and "010.1.1.1" as octal; pgtunnel accepts only the
// plain dotted-quad form, so that a rule never covers addresses other than the ones it shows.
const IPV4_HINT =
  ': write all four parts of an IPv4 address in decimal (short or octal forms such as ' +
  '10.1 or 010.1.1.1 are not accepted)';

/** The address column, and the mask column when the address has no `/bits`. */
function parseAddress(
  fields: TokenizedLine['fields'],
  start: number,
  syntax: ProblemMaker,
  unsupported: ProblemMaker,
): { address: HbaAddress; next: number } | HbaProblem {
  let index = start;
  const tokens = fields[index++];
  if (!tokens) return syntax('end-of-line before IP address specification');
  if (tokens.length > 1) {
    return syntax('multiple values specified for host address; specify one address range per line');
  }
  const token = tokens[0] as NameToken;
  if (!token.quoted) {
    if (token.text === 'all') return { address: { kind: 'all' }, next: index };
    if (token.text === 'samehost') return { address: { kind: 'samehost' }, next: index };
    if (token.text === 'samenet') return { address: { kind: 'samenet' }, next: index };
  }

  const slash = token.text.indexOf('/');
  const host = slash === -1 ? token.text : token.text.slice(0, slash);
  const network = parseIp(host);
  if (!network) {
    if (/^[0-9.]*$/.test(host)) return syntax(`invalid IP address "${host}"${IPV4_HINT}`);
    if (host.includes(':')) {
      const why = host.includes('%') ? 'zone indexes are not supported' : 'not an IPv6 address';
      return syntax(`invalid IP address "${host}": ${why}`);
    }
    if (slash !== -1) {
      return syntax(`specifying both host name and CIDR mask is invalid: "${token.text}"`);
    }
    return unsupported(
      `host names are not supported in the address field ("${host}"): pgtunnel does not do the ` +
        'reverse DNS lookups they need; write an IP address range such as 10.0.0.0/8 instead',
    );
  }

  if (slash !== -1) {
    const bitsText = token.text.slice(slash + 1);
    const mask = /^[0-9]+$/.test(bitsText) ? cidrMask(Number(bitsText), network.family) : undefined;
    if (!mask) return syntax(`invalid CIDR mask in address "${token.text}"`);
    return { address: { kind: 'range', network, mask, text: token.text }, next: index };
  }

  const maskTokens = fields[index++];
  if (!maskTokens) {
    return syntax(
      'end-of-line before netmask specification; specify an address range in CIDR notation, ' +
        'or provide a separate netmask',
    );
  }
  if (maskTokens.length > 1) return syntax('multiple values specified for netmask');
  const maskText = maskTokens[0]?.text ?? '';
  const mask = parseIp(maskText);
  if (!mask) {
    const hint = /^[0-9.]*$/.test(maskText) ? IPV4_HINT : '';
    return syntax(`invalid IP mask "${maskText}"${hint}`);
  }
  if (mask.family !== network.family) return syntax('IP address and mask do not match');
  return {
    address: { kind: 'range', network, mask: mask.bytes, text: `${token.text} ${maskText}` },
    next: index,
  };
}
