// With a user (and a password when the server asks for one), logs in with node-postgres and
// reads what only the server knows: its TLS settings, pg_hba.conf as loaded, roles that still
// have MD5 hashes, and the sessions now open without TLS. Each part needs its own privilege;
// one that cannot be read is noted, not fatal.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { DatabaseFacts, HbaRuleRow, SessionRow } from './facts.js';
import type { ProbeContext } from './probe-connection.js';

/** The settings the rules look at. */
export const AUDITED_SETTINGS = [
  'ssl',
  'ssl_min_protocol_version',
  'ssl_max_protocol_version',
  'ssl_ciphers',
  'ssl_prefer_server_ciphers',
  'ssl_ca_file',
  'ssl_crl_file',
  'ssl_crl_dir',
  'password_encryption',
  'listen_addresses',
] as const;

const HBA_QUERY = `SELECT line_number, type, database, user_name, address, netmask, auth_method, error
  FROM pg_hba_file_rules ORDER BY line_number`;

const MD5_ROLES_QUERY = `SELECT rolname FROM pg_authid WHERE rolpassword LIKE 'md5%' ORDER BY rolname`;

// Unix-socket sessions (no client address) never travel over a network.
const SESSIONS_QUERY = `SELECT a.usename, a.datname, host(a.client_addr) AS client_addr,
    coalesce(s.ssl, false) AS ssl, s.version, s.cipher, count(*)::int AS count
  FROM pg_stat_activity a LEFT JOIN pg_stat_ssl s ON s.pid = a.pid
  WHERE a.client_addr IS NOT NULL AND a.pid <> pg_backend_pid()
    AND a.backend_type = 'client backend'
  GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3`;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** node-postgres TLS options that follow the target's sslmode. */
export function clientSsl(
  ctx: ProbeContext,
  tlsOffered: boolean,
): pg.ClientConfig['ssl'] | 'refuse' {
  const { target } = ctx;
  const needsTls = ['require', 'verify-ca', 'verify-full'].includes(target.sslmode);
  if (target.sslmode === 'disable') return false;
  if (!tlsOffered) return needsTls ? 'refuse' : false;
  const verify = target.sslmode === 'verify-ca' || target.sslmode === 'verify-full';
  const ssl: NonNullable<Exclude<pg.ClientConfig['ssl'], boolean>> = { rejectUnauthorized: verify };
  if (target.sslrootcert && target.sslrootcert !== 'system')
    ssl.ca = readFileSync(target.sslrootcert, 'utf8');
  if (target.servername) ssl.servername = target.servername;
  if (target.sslmode === 'verify-ca') ssl.checkServerIdentity = () => undefined;
  if (target.sslcert && target.sslkey) {
    ssl.cert = readFileSync(target.sslcert, 'utf8');
    ssl.key = readFileSync(target.sslkey, 'utf8');
  }
  return ssl;
}

export async function probeDatabase(
  ctx: ProbeContext,
  tlsOffered: boolean,
): Promise<DatabaseFacts> {
  const { target } = ctx;
  const notes: string[] = [];
  const settings: DatabaseFacts['settings'] = {};
  const ssl = clientSsl(ctx, tlsOffered);
  if (ssl === 'refuse') {
    return {
      login: {
        ok: false,
        error: `sslmode=${target.sslmode} but the server does not offer TLS: not logging in`,
      },
      settings,
      notes,
    };
  }
  const client = new pg.Client({
    host: target.address,
    port: target.port,
    user: target.user,
    database: target.dbname,
    ...(target.password !== undefined ? { password: target.password } : {}),
    ssl,
    connectionTimeoutMillis: ctx.timeoutMs,
    query_timeout: ctx.timeoutMs,
    application_name: 'pgtunnel check',
  });
  client.on('error', () => {}); // a server that goes away later is reported by the query
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    const text = message(error);
    const hint = /password must be a string|client password/i.test(text)
      ? 'the server asks for a password: give password= in the target, PGPASSWORD or ~/.pgpass'
      : text;
    return { login: { ok: false, error: hint }, settings, notes };
  }
  try {
    const who = await client.query<{ user: string; superuser: boolean; version: string }>(
      `SELECT current_user AS user, coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false) AS superuser,
        current_setting('server_version') AS version`,
    );
    const row = who.rows[0];
    const facts: DatabaseFacts = {
      login: {
        ok: true,
        user: row?.user ?? '',
        superuser: row?.superuser ?? false,
        serverVersion: row?.version ?? '',
      },
      settings,
      notes,
    };
    const rows = await client.query<{ name: string; setting: string }>(
      'SELECT name, setting FROM pg_settings WHERE name = ANY($1)',
      [AUDITED_SETTINGS as unknown as string[]],
    );
    for (const r of rows.rows) settings[r.name] = r.setting;

    try {
      const hba = await client.query(HBA_QUERY);
      facts.hbaRules = hba.rows.map(
        (r): HbaRuleRow => ({
          lineNumber: Number(r.line_number),
          type: String(r.type ?? ''),
          database: (r.database as string[] | null) ?? [],
          userName: (r.user_name as string[] | null) ?? [],
          address: (r.address as string | null) ?? null,
          netmask: (r.netmask as string | null) ?? null,
          authMethod: String(r.auth_method ?? ''),
          error: (r.error as string | null) ?? null,
        }),
      );
    } catch (error) {
      notes.push(
        `pg_hba_file_rules not read: ${message(error)} (needs a superuser, or pg_read_all_settings on PostgreSQL 16+)`,
      );
    }
    try {
      facts.md5Roles = (await client.query<{ rolname: string }>(MD5_ROLES_QUERY)).rows.map(
        (r) => r.rolname,
      );
    } catch (error) {
      notes.push(`password hashes not read: ${message(error)} (needs a superuser)`);
    }
    try {
      facts.sessions = (await client.query(SESSIONS_QUERY)).rows.map(
        (r): SessionRow => ({
          user: r.usename ?? null,
          database: r.datname ?? null,
          clientAddr: r.client_addr ?? null,
          ssl: Boolean(r.ssl),
          version: r.version ?? null,
          cipher: r.cipher ?? null,
          count: Number(r.count),
        }),
      );
      if (!row?.superuser)
        notes.push('sessions of other users are visible only with pg_read_all_stats or pg_monitor');
    } catch (error) {
      notes.push(`sessions not read: ${message(error)}`);
    }
    return facts;
  } finally {
    await client.end().catch(() => {});
  }
}
