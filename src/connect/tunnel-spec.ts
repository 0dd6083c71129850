// What one tunnel of `pgtunnel connect` is, whether it came from the command line or from a
// [section] of the config file: where it listens, the upstream servers with their libpq
// settings, raw or PostgreSQL-aware, and local TLS. Everything is validated here, before any
// socket is opened.
import { ConfigError } from '../errors.js';
import {
  applyConnInfoDefaults,
  type ConnInfo,
  type ConnInfoKeyword,
  clientOnlyKeywords,
  isConnectionUri,
  isConnInfoKeyword,
  parseConnString,
} from '../libpq/conninfo.js';
import { lookupService } from '../libpq/pg-service.js';
import { targetsFromConnInfo, type UpstreamTarget } from '../libpq/upstream-target.js';
import { parseSocketAddress, type SocketAddress } from '../net/address.js';
import type { Located, TunnelSection } from './tunnel-config.js';

/** One tunnel, ready to start. */
export interface TunnelSpec {
  name: string;
  /** Addresses to listen on (may be empty when sockets are inherited or in inetd mode). */
  listen: SocketAddress[];
  /** The servers to try, in order, with their libpq TLS settings. */
  targets: UpstreamTarget[];
  /** stunnel-compatible raw TLS instead of PostgreSQL's SSLRequest negotiation. */
  raw: boolean;
  /** Serve TLS to local clients that ask for it; `location` is the config file line. */
  localTls?: { certFile: string; keyFile: string; location?: string };
  unixSocketMode?: number;
  idleTimeoutMs?: number;
  /** Things worth a warning in the log (e.g. ignored user/dbname settings). */
  warnings: string[];
}

/** The modes raw TLS can use: it has no negotiation to fall back with. */
const RAW_MODES = new Set(['require', 'verify-ca', 'verify-full']);

/**
 * The explicit libpq settings of a `connect` value: a connection string, a URI, or stunnel's
 * `host:port` (also `[v6]:port`, a bare port for localhost, or a socket directory).
 */
export function connectValueToConnInfo(value: string): ConnInfo {
  const trimmed = value.trim();
  if (isConnectionUri(trimmed) || trimmed.includes('=')) return parseConnString(trimmed);
  const address = parseSocketAddress(trimmed, { defaultHost: 'localhost' });
  if (address.kind === 'tcp') return { host: address.host, port: String(address.port) };
  if (address.directory !== undefined) {
    return { host: address.directory, port: String(address.port) };
  }
  throw new ConfigError(
    'ERR_CONNINFO',
    `"${value}": PostgreSQL servers are reached through their socket directory; write the directory (e.g. /var/run/postgresql:5432)`,
  );
}

function located(error: unknown, location: string | undefined): unknown {
  if (error instanceof ConfigError && location && !error.location) {
    return new ConfigError(error.code, error.message, { location, cause: error });
  }
  return error;
}

/**
 * Applies libpq's defaults (service file, PG* environment, compiled-in values) to the explicit
 * settings and builds the targets. For raw mode an unset sslmode means verify-full, and only
 * require/verify-ca/verify-full are allowed.
 */
export function buildTargets(
  explicit: ConnInfo,
  options: { raw: boolean; env?: NodeJS.ProcessEnv },
): { targets: UpstreamTarget[]; warnings: string[] } {
  const env = options.env ?? process.env;
  const settings: Partial<Record<ConnInfoKeyword, string>> = { ...explicit };
  if (options.raw && settings.sslmode === undefined && env.PGSSLMODE === undefined) {
    settings.sslmode = 'verify-full';
  }
  const info = applyConnInfoDefaults(settings, { env, lookupService });
  if (options.raw && !RAW_MODES.has(info.sslmode ?? '')) {
    throw new ConfigError(
      'ERR_CONFIG_CONFLICT',
      `raw mode always uses TLS: sslmode must be require, verify-ca or verify-full, not "${info.sslmode}"`,
    );
  }
  const targets = targetsFromConnInfo(info);
  const ignored = clientOnlyKeywords(explicit);
  const warnings =
    ignored.length > 0
      ? [
          `${ignored.join(', ')} ${ignored.length === 1 ? 'is' : 'are'} ignored: each local client sends its own user, database and password`,
        ]
      : [];
  return { targets, warnings };
}

/** The keyword a libpq validation message is about (`invalid sslmode value: …` → sslmode). */
function keywordInMessage(message: string): ConnInfoKeyword | undefined {
  const match =
    /for connection option "(\w+)"/.exec(message) ??
    /^invalid (\w+) value/.exec(message) ??
    /^invalid (port) number/.exec(message) ??
    /^(?:weak |raw mode always uses TLS: )?(sslmode)\b/.exec(message) ??
    /^(\w+)(?: value "[^"]*")? (?:is not supported|invalid)/.exec(message);
  const keyword = match?.[1];
  return keyword !== undefined && isConnInfoKeyword(keyword) ? keyword : undefined;
}

/** A tunnel from a config file section. */
export function tunnelSpecFromSection(
  section: TunnelSection,
  env: NodeJS.ProcessEnv = process.env,
): TunnelSpec {
  const named = (keyword: ConnInfoKeyword) =>
    section.libpq[keyword] !== undefined || section.inheritedLibpq[keyword] !== undefined;
  if (!section.connect && !named('host') && !named('hostaddr') && !named('service')) {
    throw new ConfigError(
      'ERR_CONFIG_MISSING',
      `tunnel [${section.name}] has no server: add "connect = host=… port=… sslmode=…"`,
      { location: section.location },
    );
  }
  let explicit: ConnInfo = {};
  if (section.connect) {
    try {
      explicit = connectValueToConnInfo(section.connect.value);
    } catch (error) {
      throw located(error, section.connect.location);
    }
  }
  // Global keywords are defaults that `connect` overrides; the section's own keyword lines
  // refine `connect`, as later keywords do in a libpq string.
  const values = (entries: TunnelSection['libpq']) => {
    const out: Partial<Record<ConnInfoKeyword, string>> = {};
    for (const [keyword, entry] of Object.entries(entries) as [
      ConnInfoKeyword,
      Located<string>,
    ][]) {
      out[keyword] = entry.value;
    }
    return out;
  };
  // A libpq error points at the line that set the keyword it names.
  const lineOf = (message: string): string => {
    const keyword = keywordInMessage(message);
    const own = Object.values(section.libpq).map((entry) => entry.location);
    if (!keyword) return own.at(-1) ?? section.connect?.location ?? section.location;
    return (
      section.libpq[keyword]?.location ??
      (explicit[keyword] !== undefined ? section.connect?.location : undefined) ??
      section.inheritedLibpq[keyword]?.location ??
      // from the environment or a service file: the tunnel is all there is to name
      section.location
    );
  };
  const raw = section.raw?.value ?? false;
  let built: ReturnType<typeof buildTargets>;
  try {
    built = buildTargets(
      { ...values(section.inheritedLibpq), ...explicit, ...values(section.libpq) },
      { raw, env },
    );
  } catch (error) {
    throw error instanceof ConfigError ? located(error, lineOf(error.message)) : error;
  }
  const { targets, warnings } = built;
  const listen = section.accept.map((entry) => {
    try {
      return parseSocketAddress(entry.value);
    } catch (error) {
      throw located(error, entry.location);
    }
  });
  if (section.localSslCert?.value && !section.localSslKey?.value) {
    throw new ConfigError('ERR_CONFIG_MISSING', 'local_sslcert needs local_sslkey as well', {
      location: section.localSslCert.location,
    });
  }
  if (raw && section.localSslCert) {
    throw new ConfigError(
      'ERR_CONFIG_CONFLICT',
      'local_sslcert does not apply to raw tunnels (their local side is plaintext)',
      { location: section.localSslCert.location },
    );
  }
  const spec: TunnelSpec = { name: section.name, listen, targets, raw, warnings };
  if (section.localSslCert && section.localSslKey) {
    spec.localTls = {
      certFile: section.localSslCert.value,
      keyFile: section.localSslKey.value,
      location: section.localSslCert.location,
    };
  }
  if (section.unixSocketMode) spec.unixSocketMode = section.unixSocketMode.value;
  if (section.idleTimeoutSeconds?.value) {
    spec.idleTimeoutMs = section.idleTimeoutSeconds.value * 1000;
  }
  return spec;
}

/** Where a tunnel goes, for logs: `db.example.com:5432 (verify-full)`. */
export function describeTargets(targets: readonly UpstreamTarget[]): string {
  return targets
    .map((t) => {
      const host = t.host || t.hostaddr || '';
      const where = host.startsWith('/') ? `${host}/.s.PGSQL.${t.port}` : `${host}:${t.port}`;
      return `${where} (${t.sslmode}${t.sslnegotiation === 'direct' ? ', direct' : ''})`;
    })
    .join(', ');
}
