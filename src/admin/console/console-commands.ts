// The admin console's commands, as a table: SHOW SESSIONS, SHOW SSL, SHOW CERTIFICATES,
// SHOW CONFIG, SHOW VERSION, SHOW HELP and RELOAD, named and shaped as PgBouncer's console and
// PostgreSQL's views (pg_stat_activity, pg_stat_ssl) name them. Data comes from ConsoleData,
// so the table runs the same in-process, in a worker, and in unit tests.
import { SETTINGS, type SettingName, type Settings } from '../../config/settings.js';
import { SqlState } from '../../protocol/codes.js';
import { type CertificateEntry, daysLeft } from '../../tls/certificate-inventory.js';
import { maskPasswords } from '../mask-passwords.js';
import type { SessionView } from '../session-view.js';
import type { Cell, Column, ColumnTypeName, ResultSet } from './result-messages.js';

/** What the console reports on and acts upon. */
export interface ConsoleData {
  /** Every open session of the gateway (all workers). */
  sessions(): Promise<SessionView[]>;
  /** The certificates and CRLs in effect. */
  certificates(): readonly CertificateEntry[];
  /** The settings in effect. */
  settings(): Settings;
  /** Reloads the configuration, as SIGHUP does. */
  reload(): Promise<{ ok: boolean; error?: string | undefined }>;
  version: string;
}

/** An error the client gets as an ErrorResponse (severity ERROR; the session stays open). */
export interface ConsoleError {
  sqlstate: string;
  message: string;
  detail?: string;
  hint?: string;
}

export type CommandOutcome = { ok: true; result: ResultSet } | { ok: false; error: ConsoleError };

interface CommandDef {
  description: string;
  run(data: ConsoleData): Promise<CommandOutcome> | CommandOutcome;
}

function table(
  columns: ReadonlyArray<[string, ColumnTypeName]>,
  rows: Cell[][],
  tag = 'SHOW',
): CommandOutcome {
  const described: Column[] = columns.map(([name, type]) => ({ name, type }));
  return { ok: true, result: { columns: described, rows, tag } };
}

const text = (value: string | null | undefined): Cell => value ?? null;
const int = (value: number | null | undefined): Cell =>
  value === null || value === undefined ? null : String(value);
const bool = (value: boolean | null | undefined): Cell =>
  value === null || value === undefined ? null : value ? 't' : 'f';

/** PostgreSQL's text output for timestamptz in UTC: `2026-01-30 10:00:00+00`. */
export function timestamptz(date: Date | string | undefined): Cell {
  if (date === undefined) return null;
  const iso = (typeof date === 'string' ? new Date(date) : date).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}+00`;
}

const SESSION_COLUMNS: ReadonlyArray<[string, ColumnTypeName]> = [
  ['id', 'int4'],
  ['pid', 'int4'],
  ['transport', 'text'],
  ['client_addr', 'text'],
  ['client_port', 'int4'],
  ['user', 'text'],
  ['database', 'text'],
  ['application_name', 'text'],
  ['state', 'text'],
  ['backend_start', 'timestamptz'],
  ['ssl', 'bool'],
  ['version', 'text'],
  ['cipher', 'text'],
  ['bits', 'int4'],
  ['alpn', 'text'],
  ['client_cert_verified', 'bool'],
  ['client_dn', 'text'],
  ['client_serial', 'text'],
  ['issuer_dn', 'text'],
  ['upstream', 'text'],
  ['route', 'text'],
  ['backend_pid', 'int4'],
];

function sessionRow(s: SessionView): Cell[] {
  return [
    int(s.id),
    int(s.pid),
    text(s.transport),
    text(s.client_addr),
    int(s.client_port),
    text(s.user),
    text(s.database),
    text(s.application_name),
    text(s.state),
    timestamptz(s.backend_start),
    bool(s.ssl),
    text(s.version),
    text(s.cipher),
    int(s.bits),
    text(s.alpn),
    bool(s.client_cert_verified),
    text(s.client_dn),
    text(s.client_serial),
    text(s.issuer_dn),
    text(s.upstream),
    text(s.route),
    int(s.backend_pid),
  ];
}

/** pg_stat_ssl's columns for the client leg, keyed by the server backend's pid for joins. */
const SSL_COLUMNS: ReadonlyArray<[string, ColumnTypeName]> = [
  ['backend_pid', 'int4'],
  ['client_addr', 'text'],
  ['client_port', 'int4'],
  ['user', 'text'],
  ['database', 'text'],
  ['ssl', 'bool'],
  ['version', 'text'],
  ['cipher', 'text'],
  ['bits', 'int4'],
  ['client_dn', 'text'],
  ['client_serial', 'text'],
  ['issuer_dn', 'text'],
];

function sslRow(s: SessionView): Cell[] {
  return [
    int(s.backend_pid),
    text(s.client_addr),
    int(s.client_port),
    text(s.user),
    text(s.database),
    bool(s.ssl),
    text(s.version),
    text(s.cipher),
    int(s.bits),
    text(s.client_dn),
    text(s.client_serial),
    text(s.issuer_dn),
  ];
}

/** A setting's value as the configuration file would spell it; secrets masked. */
export function settingText(name: SettingName, value: unknown): string {
  if (name === 'ssl_passphrase_command') return value === '' ? '' : '[set]';
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (Array.isArray(value)) return value.join(',');
  if (typeof value === 'number' && /^\d+(\.\d+)?(us|ms|s|min|h|d)$/.test(SETTINGS[name].default))
    return `${value}ms`;
  if (name === 'unix_socket_permissions' && typeof value === 'number')
    return `0${value.toString(8)}`;
  return maskPasswords(String(value));
}

export const CONSOLE_COMMANDS: Readonly<Record<string, CommandDef>> = {
  'SHOW HELP': {
    description: 'this list',
    run: () =>
      table(
        [
          ['command', 'text'],
          ['description', 'text'],
        ],
        Object.entries(CONSOLE_COMMANDS).map(([name, def]) => [name, def.description]),
      ),
  },
  'SHOW SESSIONS': {
    description:
      'open client sessions, as /status lists them (backend_pid joins pg_stat_activity.pid)',
    run: async (data) => table(SESSION_COLUMNS, (await data.sessions()).map(sessionRow)),
  },
  'SHOW SSL': {
    description:
      "pg_stat_ssl's columns for each session's client leg (backend_pid = pg_stat_ssl.pid)",
    run: async (data) => table(SSL_COLUMNS, (await data.sessions()).map(sslRow)),
  },
  'SHOW CERTIFICATES': {
    description: 'the served certificate, the CAs of ssl_ca_file and the CRLs, with expiry',
    run: (data) => {
      const now = new Date();
      return table(
        [
          ['kind', 'text'],
          ['file', 'text'],
          ['subject', 'text'],
          ['issuer', 'text'],
          ['serial', 'text'],
          ['not_after', 'timestamptz'],
          ['days_left', 'int4'],
        ],
        data
          .certificates()
          .map((c) => [
            c.kind,
            c.file,
            c.subject,
            c.issuer,
            c.serial === '' ? null : c.serial,
            c.notAfter ? timestamptz(c.notAfter) : null,
            c.notAfter ? String(daysLeft(c.notAfter, now)) : null,
          ]),
      );
    },
  },
  'SHOW CONFIG': {
    description: 'every setting: value in effect, default, and whether a reload changes it',
    run: (data) => {
      const settings = data.settings();
      return table(
        [
          ['key', 'text'],
          ['value', 'text'],
          ['default', 'text'],
          ['changeable', 'bool'],
        ],
        (Object.keys(SETTINGS) as SettingName[]).map((name) => [
          name,
          settingText(name, settings[name]),
          SETTINGS[name].default,
          bool(SETTINGS[name].context === 'reload'),
        ]),
      );
    },
  },
  'SHOW VERSION': {
    description: 'the pgtunnel version',
    run: (data) => table([['version', 'text']], [[`pgtunnel ${data.version}`]]),
  },
  RELOAD: {
    description: 'reload the configuration and certificates (as SIGHUP does)',
    run: async (data) => {
      const result = await data.reload();
      if (result.ok) return { ok: true, result: { columns: [], rows: [], tag: 'RELOAD' } };
      return {
        ok: false,
        error: {
          sqlstate: SqlState.CONFIG_FILE_ERROR,
          message: 'reload failed; the previous configuration stays in effect',
          ...(result.error ? { detail: maskPasswords(result.error) } : {}),
        },
      };
    },
  },
};

/** Runs one statement (already split and whitespace-collapsed). */
export async function runConsoleCommand(
  statement: string,
  data: ConsoleData,
): Promise<CommandOutcome> {
  const name = statement.toUpperCase();
  const command = CONSOLE_COMMANDS[name];
  if (command) return command.run(data);
  const words = name.split(' ');
  const hint = `The console knows: ${Object.keys(CONSOLE_COMMANDS).join(', ')}.`;
  if (words[0] === 'SHOW') {
    return {
      ok: false,
      error: {
        sqlstate: SqlState.UNDEFINED_OBJECT,
        message: `unrecognized SHOW command "${statement.slice(5)}"`,
        hint,
      },
    };
  }
  return {
    ok: false,
    error: {
      sqlstate: SqlState.SYNTAX_ERROR,
      message: `syntax error: the admin console does not run "${statement}"`,
      detail:
        'The virtual database "pgtunnel" is the gateway\'s admin console, not a PostgreSQL database.',
      hint,
    },
  };
}
