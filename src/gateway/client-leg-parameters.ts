// Tells the server what the gateway saw of the client leg: `pgtunnel.*` custom settings added
// to the StartupMessage (PostgreSQL accepts dotted names there, and current_setting() reads
// them). Pure: parameters in, a decision and the rewritten parameters out. A client must not
// forge them, so any `pgtunnel.` name it sends, as a parameter or in `options`, is refused.
import { MAX_STARTUP_PACKET_LENGTH, SqlState, type SqlStateCode } from '../protocol/codes.js';
import { encodeStartupMessage } from '../protocol/frontend.js';
import type { SessionRecord } from './gateway-sessions.js';

/** A FATAL for the client: what PostgreSQL would say, and why. */
export interface ClientRefusal {
  sqlstate: SqlStateCode;
  message: string;
  detail?: string;
  hint?: string;
}

/** The prefix of every setting the gateway reports; lower case, as GUC names compare. */
export const CLIENT_LEG_PREFIX = 'pgtunnel.';

/** The settings added to each session, named as pg_stat_ssl / pg_stat_activity columns. */
export const CLIENT_LEG_SETTINGS = [
  'client_addr',
  'client_port',
  'ssl',
  'ssl_version',
  'ssl_cipher',
  'ssl_client_dn',
  'ssl_client_serial',
  'ssl_issuer_dn',
] as const;

export type ClientLegSetting = (typeof CLIENT_LEG_SETTINGS)[number];

/** What the client leg looked like; the gateway's session record holds the same facts. */
export type ClientLegFacts = Pick<
  SessionRecord,
  'transport' | 'clientAddress' | 'clientPort' | 'tls'
>;

/** The `pgtunnel.*` values for one session; '' where a fact does not apply (no TLS, unix socket). */
export function clientLegValues(facts: ClientLegFacts): Record<ClientLegSetting, string> {
  const tls = facts.tls;
  const local = facts.transport === 'local';
  return {
    client_addr: local ? '' : facts.clientAddress,
    client_port: local || facts.clientPort === undefined ? '' : String(facts.clientPort),
    ssl: tls ? 'on' : 'off',
    ssl_version: tls?.version ?? '',
    ssl_cipher: tls?.cipher ?? '',
    ssl_client_dn: tls?.client.dn ?? '',
    ssl_client_serial: tls?.client.serial ?? '',
    ssl_issuer_dn: tls?.client.issuerDn ?? '',
  };
}

/** Where a client tried to set a `pgtunnel.` setting. */
export interface ForgedSetting {
  /** The setting name as the client wrote it (GUC names are case-insensitive). */
  name: string;
  /** `parameter` for a StartupMessage parameter, `options` for `-c`/`--` inside options. */
  via: 'parameter' | 'options';
}

/** The first `pgtunnel.` setting the client sent itself, or undefined when there is none. */
export function findForgedSetting(
  parameters: ReadonlyMap<string, string>,
): ForgedSetting | undefined {
  for (const name of parameters.keys()) {
    if (isReserved(name)) return { name, via: 'parameter' };
  }
  const options = parameters.get('options');
  if (options !== undefined) {
    for (const name of settingsInOptions(options)) {
      if (isReserved(name)) return { name, via: 'options' };
    }
  }
  return undefined;
}

function isReserved(name: string): boolean {
  return name.toLowerCase().startsWith(CLIENT_LEG_PREFIX);
}

/**
 * Splits `options` as PostgreSQL's pg_split_opts() does: whitespace separates arguments, and a
 * backslash takes the next character literally (so `\ ` is a space inside an argument).
 */
export function splitOptions(options: string): string[] {
  const args: string[] = [];
  let i = 0;
  while (i < options.length) {
    while (i < options.length && /\s/.test(options[i] ?? '')) i++;
    if (i >= options.length) break;
    let arg = '';
    while (i < options.length && !/\s/.test(options[i] ?? '')) {
      if (options[i] === '\\' && i + 1 < options.length) i++;
      arg += options[i];
      i++;
    }
    args.push(arg);
  }
  return args;
}

/**
 * Switches of process_postgres_switches() (postgres.c) that take an argument, as getopt sees
 * them; `c` and `-` set a run-time parameter.
 */
const SWITCHES_WITH_ARGUMENT = new Set('BcCDdfhkNprStvW-'.split(''));

/**
 * Names of the run-time parameters `options` sets, read the way the backend's getopt loop
 * reads them: grouped switches (`-ec name=v`), an argument attached (`-cname=v`) or in the next
 * word, and `--name=value` (where `-` in the name stands for `_`).
 */
export function settingsInOptions(options: string): string[] {
  const args = splitOptions(options);
  const names: string[] = [];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] ?? '';
    if (!arg.startsWith('-') || arg === '-') continue;
    for (let at = 1; at < arg.length; at++) {
      const letter = arg[at] ?? '';
      if (!SWITCHES_WITH_ARGUMENT.has(letter)) continue;
      let value = arg.slice(at + 1);
      if (value === '') {
        index++;
        value = args[index] ?? '';
      }
      if (letter === 'c' || letter === '-') {
        const equals = value.indexOf('=');
        const name = equals === -1 ? value : value.slice(0, equals);
        names.push(letter === '-' ? name.replaceAll('-', '_') : name);
      }
      break;
    }
  }
  return names;
}

/** The StartupMessage parameters the server receives: the client's, then the gateway's report. */
export function withClientLegSettings(
  parameters: ReadonlyMap<string, string>,
  facts: ClientLegFacts,
): Array<[string, string]> {
  const result: Array<[string, string]> = [...parameters];
  for (const [name, value] of Object.entries(clientLegValues(facts))) {
    result.push([`${CLIENT_LEG_PREFIX}${name}`, value]);
  }
  return result;
}

/**
 * The StartupMessage to send upstream: the client's packet unchanged when reporting is off and
 * no database is substituted, otherwise re-encoded (same protocol version) with the
 * `pgtunnel.*` settings added and `database` replaced by `database` when given (the admin
 * console authenticates against a real database).
 */
export function serverStartupPacket(
  clientPacket: Buffer,
  parameters: ReadonlyMap<string, string>,
  facts: ClientLegFacts,
  options: { report: boolean; database?: string | undefined },
): Buffer | ClientRefusal {
  if (!options.report && options.database === undefined) return clientPacket;
  const sent = new Map(parameters);
  if (options.database !== undefined) sent.set('database', options.database);
  const list = options.report ? withClientLegSettings(sent, facts) : [...sent];
  const packet = encodeStartupMessage(list, clientPacket.readUInt32BE(4));
  if (packet.length > MAX_STARTUP_PACKET_LENGTH) {
    // The server would refuse it with a bare "invalid length"; say why here instead.
    return {
      sqlstate: SqlState.PROTOCOL_VIOLATION,
      message: 'invalid length of startup packet',
      detail: `With the gateway's pgtunnel.* settings added the startup packet is ${packet.length} bytes; PostgreSQL accepts at most ${MAX_STARTUP_PACKET_LENGTH}.`,
      hint: 'Send shorter connection parameters (options, application_name), or set client_leg_parameters = off on the gateway.',
    };
  }
  return packet;
}

/** The refusal for a client that sets a `pgtunnel.` setting itself, as PostgreSQL refuses a protected one. */
export function forgedSettingRefusal(forged: ForgedSetting): ClientRefusal {
  return {
    sqlstate: SqlState.INSUFFICIENT_PRIVILEGE,
    message: `permission denied to set parameter "${forged.name}"`,
    detail: `Settings named "${CLIENT_LEG_PREFIX}*" describe the client's connection and are set only by the gateway (this one came ${forged.via === 'options' ? 'inside "options"' : 'as a startup parameter'}).`,
    hint: `Remove "${forged.name}" from the connection parameters or PGOPTIONS.`,
  };
}
