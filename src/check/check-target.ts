// The servers `pgtunnel check` audits: libpq connection strings or URIs, completed with the
// PG* environment variables and service files exactly as `connect` reads them.
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { PgTunnelError } from '../errors.js';
import { applyConnInfoDefaults, type ConnInfo, parseConnString } from '../libpq/conninfo.js';
import { passwordFromPassfile } from '../libpq/passfile.js';
import { lookupService } from '../libpq/pg-service.js';
import {
  defaultSocketDirectory,
  isUnixSocketHost,
  targetsFromConnInfo,
} from '../libpq/upstream-target.js';

/** One TCP endpoint to audit, with the client settings that shape the checks. */
export interface CheckTarget {
  /** `host:port` as the report shows it. */
  label: string;
  /** Where to connect (hostaddr when given, else host). */
  address: string;
  port: number;
  /** Host names the certificate must match: the host given plus any --name. */
  names: string[];
  /** SNI to send: the host when it is a name, as libpq does. */
  servername?: string;
  sslrootcert?: string;
  sslcert?: string;
  sslkey?: string;
  sslpassword?: string;
  /** `direct` when the connection string asks for direct TLS (the server may refuse SSLRequest). */
  sslnegotiation: 'postgres' | 'direct';
  sslmode: string;
  /** Set only when a user was given (conninfo or PGUSER): then the checks log in. */
  user?: string;
  password?: string;
  dbname: string;
}

function usage(message: string): PgTunnelError {
  return new PgTunnelError('ERR_USAGE', message);
}

/** A file the checks will read must be readable now, not fail half-way through. */
function readable(file: string, keyword: string, text: string): void {
  try {
    accessSync(file, constants.R_OK);
  } catch (error) {
    const reason =
      (error as { code?: string }).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw usage(`invalid target "${text}": ${keyword} "${file}": ${reason}`);
  }
}

function isIpLiteral(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

/** The password libpq would send: password=/PGPASSWORD, else the password file (0600 only). */
function findPassword(
  info: ConnInfo,
  host: string,
  port: number,
  dbname: string,
  user: string,
): string | undefined {
  if (info.password) return info.password;
  const file = info.passfile || join(homedir(), '.pgpass');
  try {
    const stat = statSync(file);
    if (!stat.isFile() || stat.mode & 0o077) return undefined;
    return passwordFromPassfile(
      readFileSync(file, 'utf8'),
      { host, port, database: dbname, user },
      defaultSocketDirectory(),
    );
  } catch {
    return undefined;
  }
}

/**
 * Every endpoint one connection string names (a host list gives several). Throws ERR_USAGE
 * for a bad connection string or a unix socket, which has no TLS to audit.
 */
export function checkTargetsFrom(
  text: string,
  options: { extraNames?: string[]; env?: NodeJS.ProcessEnv } = {},
): CheckTarget[] {
  const env = options.env ?? process.env;
  let explicit: ConnInfo;
  let info: ConnInfo;
  try {
    explicit = parseConnString(text.includes('=') || text.includes('://') ? text : `host=${text}`);
    info = applyConnInfoDefaults(explicit, { env, lookupService });
  } catch (error) {
    throw usage(`invalid target "${text}": ${(error as Error).message}`);
  }
  let upstreams: ReturnType<typeof targetsFromConnInfo>;
  try {
    upstreams = targetsFromConnInfo(info);
  } catch (error) {
    throw usage(`invalid target "${text}": ${(error as Error).message}`);
  }
  // libpq's default user is the OS user; the audit logs in only when a user was asked for.
  const user = explicit.user ?? env.PGUSER ?? undefined;
  const dbname = info.dbname || user || 'postgres';
  return upstreams.map((upstream) => {
    if (isUnixSocketHost(upstream.host) && !upstream.hostaddr) {
      throw usage(
        `"${text}" names a unix socket (${upstream.host}): there is no TLS to check; give host=NAME or host=ADDRESS`,
      );
    }
    const address = upstream.hostaddr || upstream.host;
    const host = upstream.host || upstream.hostaddr || '';
    const names = [...new Set([host, ...(options.extraNames ?? [])].filter((n) => n !== ''))];
    const target: CheckTarget = {
      label: `${host.includes(':') ? `[${host}]` : host}:${upstream.port}`,
      address,
      port: upstream.port,
      names,
      sslnegotiation: upstream.sslnegotiation ?? 'postgres',
      sslmode: upstream.sslmode,
      dbname,
    };
    if (upstream.host && !isIpLiteral(upstream.host) && upstream.sslsni !== false) {
      target.servername = upstream.host;
    }
    for (const keyword of ['sslrootcert', 'sslcert', 'sslkey'] as const) {
      const file = upstream[keyword];
      if (file && !(keyword === 'sslrootcert' && file === 'system')) readable(file, keyword, text);
    }
    if (upstream.sslrootcert) target.sslrootcert = upstream.sslrootcert;
    if (upstream.sslcert) target.sslcert = upstream.sslcert;
    if (upstream.sslkey) target.sslkey = upstream.sslkey;
    if (upstream.sslpassword) target.sslpassword = upstream.sslpassword;
    if (user) {
      target.user = user;
      const password = findPassword(info, host, upstream.port, dbname, user);
      if (password !== undefined) target.password = password;
    }
    return target;
  });
}
