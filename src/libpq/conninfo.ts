// libpq connection strings: `key=value` lists and `postgresql://` URIs, parsed exactly as libpq's
// conninfo_parse()/conninfo_uri_parse_options() do (src/interfaces/libpq/fe-connect.c), plus the
// environment-variable and compiled-in defaults of conninfo_add_defaults(). Pure: no I/O.
import { ConfigError } from '../errors.js';

/** What pgtunnel does with a libpq keyword. */
export type KeywordUse =
  /** Shapes the connection to the server (host, port, TLS): the tunnel honours it. */
  | 'tunnel'
  /** Belongs to the session (user, database, auth): the local client sends its own. */
  | 'client'
  /** Known to libpq but meaningless for a byte tunnel (GSSAPI, OAuth …): accepted, unused. */
  | 'unused';

export interface KeywordSpec {
  /** libpq environment variable giving the default. */
  env?: string;
  /** libpq's compiled-in default. */
  compiled?: string;
  use: KeywordUse;
}

/** Every keyword libpq 18 accepts (PQconninfoOptions), with its env var and compiled default. */
export const CONNINFO_KEYWORDS = {
  service: { env: 'PGSERVICE', use: 'tunnel' },
  user: { env: 'PGUSER', use: 'client' },
  password: { env: 'PGPASSWORD', use: 'client' },
  passfile: { env: 'PGPASSFILE', use: 'client' },
  channel_binding: { env: 'PGCHANNELBINDING', compiled: 'prefer', use: 'client' },
  connect_timeout: { env: 'PGCONNECT_TIMEOUT', use: 'tunnel' },
  dbname: { env: 'PGDATABASE', use: 'client' },
  host: { env: 'PGHOST', use: 'tunnel' },
  hostaddr: { env: 'PGHOSTADDR', use: 'tunnel' },
  port: { env: 'PGPORT', compiled: '5432', use: 'tunnel' },
  client_encoding: { env: 'PGCLIENTENCODING', use: 'client' },
  options: { env: 'PGOPTIONS', use: 'client' },
  application_name: { env: 'PGAPPNAME', use: 'client' },
  fallback_application_name: { use: 'client' },
  keepalives: { compiled: '1', use: 'tunnel' },
  keepalives_idle: { use: 'tunnel' },
  keepalives_interval: { use: 'unused' },
  keepalives_count: { use: 'unused' },
  tcp_user_timeout: { use: 'unused' },
  sslmode: { env: 'PGSSLMODE', compiled: 'prefer', use: 'tunnel' },
  sslnegotiation: { env: 'PGSSLNEGOTIATION', compiled: 'postgres', use: 'tunnel' },
  sslcompression: { env: 'PGSSLCOMPRESSION', compiled: '0', use: 'unused' },
  sslcert: { env: 'PGSSLCERT', use: 'tunnel' },
  sslkey: { env: 'PGSSLKEY', use: 'tunnel' },
  sslcertmode: { env: 'PGSSLCERTMODE', compiled: 'allow', use: 'tunnel' },
  sslpassword: { use: 'tunnel' },
  sslrootcert: { env: 'PGSSLROOTCERT', use: 'tunnel' },
  sslcrl: { env: 'PGSSLCRL', use: 'tunnel' },
  sslcrldir: { env: 'PGSSLCRLDIR', use: 'tunnel' },
  sslsni: { env: 'PGSSLSNI', compiled: '1', use: 'tunnel' },
  sslkeylogfile: { use: 'unused' },
  requirepeer: { env: 'PGREQUIREPEER', use: 'tunnel' },
  require_auth: { env: 'PGREQUIREAUTH', use: 'client' },
  min_protocol_version: { env: 'PGMINPROTOCOLVERSION', use: 'client' },
  max_protocol_version: { env: 'PGMAXPROTOCOLVERSION', use: 'client' },
  ssl_min_protocol_version: { env: 'PGSSLMINPROTOCOLVERSION', compiled: 'TLSv1.2', use: 'tunnel' },
  ssl_max_protocol_version: { env: 'PGSSLMAXPROTOCOLVERSION', use: 'tunnel' },
  gssencmode: { env: 'PGGSSENCMODE', compiled: 'disable', use: 'tunnel' },
  krbsrvname: { env: 'PGKRBSRVNAME', use: 'unused' },
  gsslib: { env: 'PGGSSLIB', use: 'unused' },
  gssdelegation: { env: 'PGGSSDELEGATION', compiled: '0', use: 'unused' },
  replication: { use: 'client' },
  target_session_attrs: { env: 'PGTARGETSESSIONATTRS', compiled: 'any', use: 'tunnel' },
  load_balance_hosts: { env: 'PGLOADBALANCEHOSTS', compiled: 'disable', use: 'tunnel' },
  scram_client_key: { use: 'client' },
  scram_server_key: { use: 'client' },
  oauth_issuer: { use: 'client' },
  oauth_client_id: { use: 'client' },
  oauth_client_secret: { use: 'client' },
  oauth_scope: { use: 'client' },
} as const satisfies Record<string, KeywordSpec>;

export type ConnInfoKeyword = keyof typeof CONNINFO_KEYWORDS;

/** Keyword → value, as libpq's PQconninfoOption array holds them; absent keys have no value. */
export type ConnInfo = Readonly<Partial<Record<ConnInfoKeyword, string>>>;

const URI_PREFIXES = ['postgresql://', 'postgres://'] as const;

function conninfoError(message: string): ConfigError {
  return new ConfigError('ERR_CONNINFO', message);
}

export function isConnInfoKeyword(keyword: string): keyword is ConnInfoKeyword {
  return Object.hasOwn(CONNINFO_KEYWORDS, keyword);
}

/** True for strings libpq parses as a URI (the prefix check is case-sensitive, as in libpq). */
export function isConnectionUri(text: string): boolean {
  return URI_PREFIXES.some((prefix) => text.startsWith(prefix));
}

/**
 * Parses a connection string (either form) into the settings it states explicitly, with no
 * defaults applied. Throws ConfigError ERR_CONNINFO with libpq's message on bad syntax or an
 * unknown keyword.
 *
 * @example parseConnString("host=db port=5432 sslmode='verify-full'")
 * @example parseConnString('postgresql://db.example.com:5432/app?sslmode=require')
 */
export function parseConnString(text: string): ConnInfo {
  const values: Partial<Record<ConnInfoKeyword, string>> = {};
  if (isConnectionUri(text)) parseUri(text, values);
  else parseKeywordValue(text, values);
  return values;
}

/** conninfo_storeval(): maps the old `requiressl` keyword, rejects unknown ones. */
function store(
  values: Partial<Record<ConnInfoKeyword, string>>,
  keyword: string,
  value: string,
  unknown: () => ConfigError,
): void {
  if (keyword === 'requiressl') {
    values.sslmode = value.startsWith('1') ? 'require' : 'prefer';
    return;
  }
  if (!isConnInfoKeyword(keyword)) throw unknown();
  values[keyword] = value;
}

// libpq uses isspace(): space, \t, \n, \v, \f, \r.
const isSpace = (c: string | undefined) =>
  c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';

function parseKeywordValue(text: string, values: Partial<Record<ConnInfoKeyword, string>>): void {
  let i = 0;
  while (i < text.length) {
    if (isSpace(text[i])) {
      i++;
      continue;
    }
    // The name runs to '=' or whitespace; whitespace may separate it from the '='.
    const nameStart = i;
    while (i < text.length && text[i] !== '=' && !isSpace(text[i])) i++;
    const name = text.slice(nameStart, i);
    while (i < text.length && isSpace(text[i])) i++;
    if (text[i] !== '=') {
      throw conninfoError(`missing "=" after "${name}" in connection info string`);
    }
    i++;
    while (i < text.length && isSpace(text[i])) i++;
    let value = '';
    if (text[i] !== "'") {
      // Unquoted: runs to whitespace; a backslash takes the next character literally.
      while (i < text.length && !isSpace(text[i])) {
        if (text[i] === '\\') {
          i++;
          if (i < text.length) value += text[i++];
        } else {
          value += text[i++];
        }
      }
    } else {
      i++;
      for (;;) {
        if (i >= text.length) {
          throw conninfoError('unterminated quoted string in connection info string');
        }
        const c = text[i];
        if (c === '\\') {
          i++;
          if (i < text.length) value += text[i++];
          continue;
        }
        if (c === "'") {
          i++;
          break;
        }
        value += c;
        i++;
      }
    }
    store(values, name, value, () => conninfoError(`invalid connection option "${name}"`));
  }
}

/** conninfo_uri_decode(): percent-decoding; spaces are allowed only around the value. */
export function uriDecode(text: string): string {
  const bytes: number[] = [];
  let i = 0;
  while (text[i] === ' ') i++;
  while (i < text.length && text[i] !== ' ') {
    if (text[i] !== '%') {
      const char = String.fromCodePoint(text.codePointAt(i) ?? 0);
      for (const byte of Buffer.from(char, 'utf8')) bytes.push(byte);
      i += char.length;
      continue;
    }
    const hex = text.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) {
      throw conninfoError(`invalid percent-encoded token: "${text}"`);
    }
    const byte = Number.parseInt(hex, 16);
    if (byte === 0) {
      throw conninfoError(`forbidden value %00 in percent-encoded value: "${text}"`);
    }
    bytes.push(byte);
    i += 3;
  }
  while (text[i] === ' ') i++;
  if (i < text.length) {
    throw conninfoError(
      `unexpected spaces found in "${text}", use percent-encoded spaces (%20) instead`,
    );
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * postgresql://[user[:password]@][netloc][:port][,...][/dbname][?param1=value1&...]
 * Walks the string with the same terminators libpq uses, so odd inputs fail the same way.
 */
function parseUri(uri: string, values: Partial<Record<ConnInfoKeyword, string>>): void {
  const prefix = URI_PREFIXES.find((p) => uri.startsWith(p)) ?? '';
  const start = prefix.length;
  let p = start;
  while (p < uri.length && uri[p] !== '@' && uri[p] !== '/') p++;
  if (uri[p] === '@') {
    const credentials = uri.slice(start, p);
    const colon = credentials.indexOf(':');
    const user = colon === -1 ? credentials : credentials.slice(0, colon);
    if (user) values.user = uriDecode(user);
    if (colon !== -1) {
      const password = credentials.slice(colon + 1);
      if (password) values.password = uriDecode(password);
    }
    p++;
  } else {
    p = start;
  }

  let hosts = '';
  let ports = '';
  let terminator: string | undefined;
  for (;;) {
    let host: string;
    if (uri[p] === '[') {
      const hostStart = ++p;
      while (p < uri.length && uri[p] !== ']') p++;
      if (p >= uri.length) {
        throw conninfoError(
          `end of string reached when looking for matching "]" in IPv6 host address in URI: "${uri}"`,
        );
      }
      if (p === hostStart) {
        throw conninfoError(`IPv6 host address may not be empty in URI: "${uri}"`);
      }
      host = uri.slice(hostStart, p);
      p++;
      const next = uri[p];
      if (next !== undefined && next !== ':' && next !== '/' && next !== '?' && next !== ',') {
        // libpq counts the position from the start of the URI, 1-based
        throw conninfoError(
          `unexpected character "${next}" at position ${p + 1} in URI (expected ":" or "/"): "${uri}"`,
        );
      }
    } else {
      const hostStart = p;
      while (p < uri.length && !':/?,'.includes(uri[p] ?? '')) p++;
      host = uri.slice(hostStart, p);
    }
    terminator = uri[p];
    hosts += host;
    if (terminator === ':') {
      const portStart = ++p;
      while (p < uri.length && !'/?,'.includes(uri[p] ?? '')) p++;
      ports += uri.slice(portStart, p);
      terminator = uri[p];
    }
    if (terminator !== ',') break;
    p++;
    hosts += ',';
    ports += ',';
  }
  if (hosts) values.host = uriDecode(hosts);
  if (ports) values.port = uriDecode(ports);

  if (terminator !== undefined && terminator !== '?') {
    const dbStart = ++p;
    while (p < uri.length && uri[p] !== '?') p++;
    const dbname = uri.slice(dbStart, p);
    // An empty dbname is left unset so that PGDATABASE still applies, as in libpq.
    if (dbname) values.dbname = uriDecode(dbname);
    terminator = uri[p];
  }
  if (terminator !== undefined) parseUriParams(uri.slice(p + 1), values);
}

function parseUriParams(params: string, values: Partial<Record<ConnInfoKeyword, string>>): void {
  let rest = params;
  while (rest.length > 0) {
    const amp = rest.indexOf('&');
    const pair = amp === -1 ? rest : rest.slice(0, amp);
    rest = amp === -1 ? '' : rest.slice(amp + 1);
    const eq = pair.indexOf('=');
    if (eq === -1) {
      throw conninfoError(`missing key/value separator "=" in URI query parameter: "${pair}"`);
    }
    const rawKey = pair.slice(0, eq);
    if (pair.indexOf('=', eq + 1) !== -1) {
      throw conninfoError(`extra key/value separator "=" in URI query parameter: "${rawKey}"`);
    }
    let keyword = uriDecode(rawKey);
    let value = uriDecode(pair.slice(eq + 1));
    // JDBC compatibility, as in libpq: ssl=true means sslmode=require.
    if (keyword === 'ssl' && value === 'true') {
      keyword = 'sslmode';
      value = 'require';
    }
    const name = keyword;
    store(values, keyword, value, () => conninfoError(`invalid URI query parameter: "${name}"`));
  }
}

/** Where defaults come from; all optional so tests can pass a clean environment. */
export interface ConnInfoDefaultsSource {
  /** Environment variables (PGHOST, PGSSLMODE …); default process.env. */
  env?: NodeJS.ProcessEnv;
  /**
   * Looks up a service in pg_service.conf (see pg-service.ts); given the service name and the
   * environment, returns its settings. Without it, `service` is an error.
   */
  lookupService?: (name: string, env: NodeJS.ProcessEnv) => ConnInfo;
}

/**
 * conninfo_add_defaults(): fills every unset keyword from the service file, then the
 * environment, then libpq's compiled-in default. Also applies libpq's two special cases:
 * PGREQUIRESSL=1 means sslmode=require, and sslrootcert=system without an explicit sslmode
 * strengthens the default to verify-full (libpq 16+).
 */
export function applyConnInfoDefaults(
  explicit: ConnInfo,
  source: ConnInfoDefaultsSource = {},
): ConnInfo {
  const env = source.env ?? process.env;
  const values: Partial<Record<ConnInfoKeyword, string>> = { ...explicit };

  const service = values.service ?? env.PGSERVICE;
  if (service !== undefined && service !== '') {
    if (!source.lookupService) {
      throw conninfoError(`definition of service "${service}" not found`);
    }
    const fromService = source.lookupService(service, env);
    for (const [keyword, value] of Object.entries(fromService) as [ConnInfoKeyword, string][]) {
      if (values[keyword] === undefined) values[keyword] = value;
    }
  }

  let sslmodeDefaulted = false;
  for (const [keyword, spec] of Object.entries(CONNINFO_KEYWORDS) as [
    ConnInfoKeyword,
    KeywordSpec,
  ][]) {
    if (values[keyword] !== undefined) continue;
    // An environment variable set to the empty string still counts, as with getenv().
    const fromEnv = spec.env ? env[spec.env] : undefined;
    if (fromEnv !== undefined) {
      values[keyword] = fromEnv;
      continue;
    }
    if (keyword === 'sslmode') {
      if (env.PGREQUIRESSL?.startsWith('1')) {
        values.sslmode = 'require';
        continue;
      }
      sslmodeDefaulted = true;
    }
    if (spec.compiled !== undefined) values[keyword] = spec.compiled;
  }
  if (sslmodeDefaulted && values.sslrootcert === 'system') values.sslmode = 'verify-full';
  return values;
}

/** Parses a connection string and applies libpq's defaults: what libpq would connect with. */
export function resolveConnInfo(text: string, source: ConnInfoDefaultsSource = {}): ConnInfo {
  return applyConnInfoDefaults(parseConnString(text), source);
}

/** Keywords given explicitly that only the local client can supply (user, dbname …). */
export function clientOnlyKeywords(explicit: ConnInfo): ConnInfoKeyword[] {
  return (Object.keys(explicit) as ConnInfoKeyword[]).filter(
    (keyword) => CONNINFO_KEYWORDS[keyword].use === 'client',
  );
}
