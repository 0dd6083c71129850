// The `pgtunnel connect --config` file: stunnel's layout (global options, then one [section]
// per tunnel with `accept` and `connect`), with libpq keywords for the upstream's settings.
// Parsing only; tunnel-spec.ts turns sections into runnable tunnels. Pure.
import { parseIniSections } from '../config/ini-sections.js';
import { ConfigError } from '../errors.js';
import { CONNINFO_KEYWORDS, type ConnInfoKeyword, isConnInfoKeyword } from '../libpq/conninfo.js';
import type { LogLevel } from '../log.js';

/** Keys of the file besides libpq's, as one table (scope, kind, meaning). */
export const TUNNEL_FILE_KEYS = {
  accept: {
    scope: 'tunnel',
    kind: 'address',
    description:
      'where local clients connect: host:port, [v6]:port, a port, unix:/path, or a directory (/dir or /dir:port) for .s.PGSQL.<port>; repeatable',
  },
  connect: {
    scope: 'tunnel',
    kind: 'string',
    description: 'the server: a libpq connection string, a postgresql:// URI, or host:port',
  },
  raw: {
    scope: 'tunnel',
    kind: 'boolean',
    description: 'stunnel-compatible raw TLS (no PostgreSQL negotiation); default no',
  },
  client: {
    scope: 'tunnel',
    kind: 'boolean',
    description:
      "accepted for stunnel compatibility; must be yes (connect is always stunnel's client mode)",
  },
  local_sslcert: {
    scope: 'tunnel',
    kind: 'string',
    description: 'certificate to serve TLS to local clients that ask for it (else they get N)',
  },
  local_sslkey: { scope: 'tunnel', kind: 'string', description: 'key for local_sslcert' },
  unix_socket_mode: {
    scope: 'tunnel',
    kind: 'octal',
    description: 'permissions of unix sockets this tunnel creates; default 0777',
  },
  idle_timeout: {
    scope: 'tunnel',
    kind: 'seconds',
    description: 'close sessions idle this many seconds; default 0 (never)',
  },
  pid: { scope: 'global', kind: 'string', description: 'PID file, written when ready' },
  log_level: { scope: 'global', kind: 'string', description: 'debug, info, warn or error' },
} as const;

export type TunnelFileKey = keyof typeof TUNNEL_FILE_KEYS;

/** A value and the file:line it came from. */
export interface Located<T> {
  value: T;
  location: string;
}

export interface TunnelSection {
  name: string;
  location: string;
  accept: Located<string>[];
  connect?: Located<string>;
  raw?: Located<boolean>;
  localSslCert?: Located<string>;
  localSslKey?: Located<string>;
  unixSocketMode?: Located<number>;
  idleTimeoutSeconds?: Located<number>;
  /** libpq keywords set in the section itself: they refine `connect`. */
  libpq: Partial<Record<ConnInfoKeyword, Located<string>>>;
  /** libpq keywords from the global part: defaults, below `connect` and the section's own. */
  inheritedLibpq: Partial<Record<ConnInfoKeyword, Located<string>>>;
}

export interface TunnelFile {
  pidFile?: Located<string>;
  logLevel?: Located<LogLevel>;
  tunnels: TunnelSection[];
}

const TRUE = new Set(['yes', 'true', 'on', '1']);
const FALSE = new Set(['no', 'false', 'off', '0']);
const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

function emptySection(name: string, location: string): TunnelSection {
  return { name, location, accept: [], libpq: {}, inheritedLibpq: {} };
}

/**
 * Parses the file. Global options come before the first [section]; tunnel options given
 * there are defaults for every tunnel, as in stunnel. Errors carry file:line.
 *
 * @example
 * parseTunnelFile('pid = /run/pgtunnel.pid\n[orders]\naccept = 5433\nconnect = host=db sslmode=verify-full\n', 'x.conf')
 */
export function parseTunnelFile(text: string, fileName: string): TunnelFile {
  const file: TunnelFile = { tunnels: [] };
  const defaults = emptySection('(global)', `${fileName}:1`);
  const ini = parseIniSections(text, fileName, 'tunnel');
  for (const entry of ini.global)
    setKey(file, defaults, true, entry.key, entry.value, entry.location);
  for (const section of ini.sections) {
    const { name, location } = section;
    const tunnel: TunnelSection = {
      ...emptySection(name, location),
      ...cloneDefaults(defaults),
      name,
      location,
      accept: [],
    };
    file.tunnels.push(tunnel);
    for (const entry of section.entries)
      setKey(file, tunnel, false, entry.key, entry.value, entry.location);
  }
  return file;
}

function cloneDefaults(defaults: TunnelSection): Partial<TunnelSection> {
  const {
    name: _name,
    location: _location,
    accept: _accept,
    libpq,
    inheritedLibpq: _none,
    ...rest
  } = defaults;
  return { ...rest, libpq: {}, inheritedLibpq: { ...libpq } };
}

function parseBoolean(key: string, value: string, location: string): boolean {
  const lower = value.toLowerCase();
  if (TRUE.has(lower)) return true;
  if (FALSE.has(lower)) return false;
  throw new ConfigError('ERR_CONFIG_INVALID', `${key} must be yes or no, not "${value}"`, {
    location,
  });
}

function setKey(
  file: TunnelFile,
  section: TunnelSection,
  global: boolean,
  key: string,
  value: string,
  location: string,
): void {
  const invalid = (message: string) => new ConfigError('ERR_CONFIG_INVALID', message, { location });
  const misplaced = (message: string) =>
    new ConfigError('ERR_CONFIG_PLACEMENT', message, { location });
  if (isConnInfoKeyword(key)) {
    section.libpq[key] = { value, location };
    return;
  }
  if (!Object.hasOwn(TUNNEL_FILE_KEYS, key)) {
    throw new ConfigError(
      'ERR_CONFIG_UNKNOWN_KEY',
      `unknown key "${key}": use a libpq keyword (${Object.keys(CONNINFO_KEYWORDS)
        .filter((k) => CONNINFO_KEYWORDS[k as ConnInfoKeyword].use === 'tunnel')
        .join(', ')}) or one of ${Object.keys(TUNNEL_FILE_KEYS).join(', ')}`,
      { location },
    );
  }
  const known = key as TunnelFileKey;
  const spec = TUNNEL_FILE_KEYS[known];
  if (spec.scope === 'global' && !global) {
    throw misplaced(`${key} is a global option: put it before the first [section]`);
  }
  switch (known) {
    case 'pid':
      file.pidFile = { value, location };
      return;
    case 'log_level':
      if (!(LOG_LEVELS as readonly string[]).includes(value)) {
        throw invalid(`log_level must be one of ${LOG_LEVELS.join(', ')}, not "${value}"`);
      }
      file.logLevel = { value: value as LogLevel, location };
      return;
    case 'accept':
      if (global) throw misplaced('accept belongs in a [tunnel] section');
      section.accept.push({ value, location });
      return;
    case 'connect':
      section.connect = { value, location };
      return;
    case 'raw':
      section.raw = { value: parseBoolean(key, value, location), location };
      return;
    case 'client':
      if (!parseBoolean(key, value, location)) {
        throw new ConfigError(
          'ERR_CONFIG_UNSUPPORTED',
          'client = no is stunnel\'s server mode: use "pgtunnel serve --raw" for that direction',
          { location },
        );
      }
      return;
    case 'local_sslcert':
      section.localSslCert = { value, location };
      return;
    case 'local_sslkey':
      section.localSslKey = { value, location };
      return;
    case 'unix_socket_mode': {
      if (!/^0?[0-7]{3}$/.test(value)) throw invalid(`unix_socket_mode must be octal like 0770`);
      section.unixSocketMode = { value: Number.parseInt(value, 8), location };
      return;
    }
    case 'idle_timeout': {
      if (!/^\d+$/.test(value)) throw invalid('idle_timeout must be a number of seconds');
      section.idleTimeoutSeconds = { value: Number(value), location };
      return;
    }
  }
}
