// The declarative table of `pgtunnel serve` settings: name, default, parser, whether a reload
// applies it, and what it does. Names and meanings follow postgresql.conf wherever PostgreSQL
// has the same setting, so a DBA already knows them. docs/configuration.md mirrors this table.
import { parseCidr } from '../net/cidr.js';
import { parseBoolean, parseDuration, parseEnum, parseInteger } from './values.js';

/** When a change to a setting takes effect. */
export type SettingContext = 'reload' | 'restart';

export interface SettingDef<T> {
  default: string;
  parse(text: string): T;
  context: SettingContext;
  /** Resolve relative paths against the config file's directory (or the working directory). */
  isPath?: boolean;
  /** Contains a secret-bearing command; shown as [set] in status output. */
  description: string;
}

function def<T>(definition: SettingDef<T>): SettingDef<T> {
  return definition;
}

const text = (value: string) => value;
const list = (value: string) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
export type TlsVersionName = (typeof TLS_VERSIONS)[number];

export const SETTINGS = {
  listen_addresses: def({
    default: 'localhost',
    parse: list,
    context: 'restart',
    description: "Comma-separated addresses to listen on; '*' for all IPv4 and IPv6, '' for none.",
  }),
  port: def({
    default: '6432',
    parse: (v) => parseInteger(v, 1, 65535),
    context: 'restart',
    description: 'TCP port, also used in the unix socket name .s.PGSQL.<port>.',
  }),
  unix_socket_directories: def({
    default: '',
    parse: list,
    context: 'restart',
    description: 'Directories for a unix socket .s.PGSQL.<port> (so `psql -h DIR` works).',
  }),
  unix_socket_permissions: def({
    default: '0777',
    parse: (v) => parseInteger(v, 0, 0o777),
    context: 'restart',
    description: 'Access mode of the unix socket, in octal as in PostgreSQL.',
  }),
  max_connections: def({
    default: '100',
    parse: (v) => parseInteger(v, 1, 262_143),
    context: 'reload',
    description:
      'Client connections per worker process beyond which new ones get "too many clients"; connections go to the workers in turn.',
  }),
  max_startup_connections: def({
    default: '200',
    parse: (v) => parseInteger(v, 1, 262_143),
    context: 'reload',
    description:
      'Connections per worker process still in their startup (TLS handshake, startup packet, authentication) beyond which new ones get "too many clients".',
  }),
  authentication_timeout: def({
    default: '60s',
    parse: (v) => parseDuration(v, 's', 1000, 600_000),
    context: 'reload',
    description: 'Longest time for the TLS handshake plus the startup and authentication exchange.',
  }),
  shutdown_timeout: def({
    default: '30s',
    parse: (v) => parseDuration(v, 's', 0, 86_400_000),
    context: 'reload',
    description: 'On SIGTERM, how long open sessions may finish before they are closed.',
  }),
  shutdown_delay: def({
    default: '0',
    parse: (v) => parseDuration(v, 's', 0, 3_600_000),
    context: 'reload',
    description:
      'On SIGTERM, keep accepting new connections this long while /ready answers 503, so a load balancer takes the gateway out before its listener closes; then shutdown_timeout applies.',
  }),
  ssl: def({
    default: 'on',
    parse: parseBoolean,
    context: 'reload',
    description:
      'Accept TLS (SSLRequest and direct TLS). With ssl off every TCP connection is plaintext.',
  }),
  ssl_cert_file: def({
    default: 'server.crt',
    parse: text,
    context: 'reload',
    isPath: true,
    description: 'Server certificate, followed by any intermediate certificates.',
  }),
  ssl_key_file: def({
    default: 'server.key',
    parse: text,
    context: 'reload',
    isPath: true,
    description:
      'Server private key; refused if group/world readable (0600, or 0640 owned by root).',
  }),
  ssl_ca_file: def({
    default: '',
    parse: text,
    context: 'reload',
    isPath: true,
    description: 'CAs for client certificates; when set, clients are asked for a certificate.',
  }),
  ssl_crl_file: def({
    default: '',
    parse: text,
    context: 'reload',
    isPath: true,
    description: 'Certificate revocation lists (PEM) for client certificates.',
  }),
  ssl_crl_dir: def({
    default: '',
    parse: text,
    context: 'reload',
    isPath: true,
    description: 'Directory of CRL files (every file in it is read).',
  }),
  ssl_ciphers: def({
    default: 'HIGH:MEDIUM:+3DES:!aNULL',
    parse: text,
    context: 'reload',
    description: 'OpenSSL cipher list for TLS 1.2 and older (TLS 1.3 suites are not affected).',
  }),
  ssl_prefer_server_ciphers: def({
    default: 'on',
    parse: parseBoolean,
    context: 'reload',
    description: "Use the server's cipher order rather than the client's.",
  }),
  ssl_ecdh_curve: def({
    default: '',
    parse: text,
    context: 'reload',
    description: "Key-exchange groups, e.g. 'X25519:prime256v1'; '' leaves OpenSSL's defaults.",
  }),
  ssl_min_protocol_version: def({
    default: 'TLSv1.2',
    parse: (v) => parseEnum(v, TLS_VERSIONS),
    context: 'reload',
    description: 'Oldest TLS version accepted.',
  }),
  ssl_max_protocol_version: def({
    default: '',
    parse: (v) => parseEnum(v, ['', ...TLS_VERSIONS] as const),
    context: 'reload',
    description: "Newest TLS version accepted; '' means the newest supported.",
  }),
  ssl_passphrase_command: def({
    default: '',
    parse: text,
    context: 'reload',
    description: 'Shell command printing the key passphrase; %p is replaced by a prompt.',
  }),
  ssl_ticket_key_rotation: def({
    default: '1h',
    parse: (v) => parseDuration(v, 's', 1000, 7 * 86_400_000),
    context: 'restart',
    description:
      'How often the TLS session-ticket keys are replaced; tickets under the previous key still resume.',
  }),
  ssl_passphrase_command_supports_reload: def({
    default: 'off',
    parse: parseBoolean,
    context: 'reload',
    description:
      'Run ssl_passphrase_command again on reload (otherwise an encrypted key is not reloaded).',
  }),
  proxy_protocol: def({
    default: 'off',
    parse: (v) => parseEnum(v, ['off', 'on', 'optional'] as const),
    context: 'reload',
    description:
      "PROXY protocol (v1 or v2) header before each TCP connection, as a balancer sends it (HAProxy send-proxy-v2): 'on' requires it from every TCP client, 'optional' accepts it and also direct clients. Only proxy_protocol_trusted addresses may send one; its client address is the one hba rules, logs and /status see.",
  }),
  proxy_protocol_trusted: def({
    default: '',
    parse: (v) => list(v).map((item) => parseCidr(item).text),
    context: 'reload',
    description:
      "Comma-separated addresses or CIDR ranges of the balancers allowed to send a PROXY header, e.g. '10.0.0.0/8, 127.0.0.1'; a header from any other address is refused.",
  }),
  upstream_proxy_protocol: def({
    default: 'off',
    parse: (v) => parseEnum(v, ['off', 'v2'] as const),
    context: 'reload',
    description:
      "'v2' sends a PROXY protocol v2 header on each TCP connection to the upstream (and each forwarded cancel request) with the client's address and, for TLS clients, the TLS version and client certificate CN: for a chain of gateways, the next one with proxy_protocol on.",
  }),
  hba_file: def({
    default: '',
    parse: text,
    context: 'reload',
    isPath: true,
    description:
      "Access rules in pg_hba.conf syntax. '' means the built-in rules: local connections pass, TCP needs TLS.",
  }),
  ident_file: def({
    default: '',
    parse: text,
    context: 'reload',
    isPath: true,
    description: 'User-name maps in pg_ident.conf syntax, for map= in hba_file.',
  }),
  routes_file: def({
    default: '',
    parse: text,
    context: 'reload',
    isPath: true,
    description:
      "Routes: one [name] section per route, choosing it by the TLS server name (server_name) and/or the database, with its own ssl_cert_file, ssl_key_file, ssl_ca_file, ssl_crl_file, ssl_crl_dir, hba_file, ident_file and upstream; see docs/serve.md. '' means one route: this file's settings.",
  }),
  routes_unknown_server_name: def({
    default: 'default',
    parse: (v) => parseEnum(v, ['default', 'refuse'] as const),
    context: 'reload',
    description:
      "A client whose TLS server name no route lists (and the main certificate does not cover): 'default' serves it with this file's settings, 'refuse' answers 08004 \"no route for server name\".",
  }),
  upstream: def({
    default: '',
    parse: text,
    context: 'reload',
    description:
      "The PostgreSQL server as a libpq connection string, e.g. 'host=/var/run/postgresql port=5432' or 'host=db port=5432 sslmode=verify-full sslrootcert=root.crt'. With several hosts ('host=db1,db2'), each session goes to the first that accepts it, in order (or shuffled with load_balance_hosts=random), as libpq does.",
  }),
  auth_user: def({
    default: '',
    parse: text,
    context: 'reload',
    description:
      "Role the gateway logs in as (with upstream's password=, a password file, or sslcert/sslkey) to look up SCRAM secrets with auth_query, as PgBouncer does. Needed for SCRAM when the upstream leg is TLS; '' refuses SCRAM there with an explanation.",
  }),
  auth_query: def({
    default: 'SELECT rolpassword FROM pg_catalog.pg_authid WHERE rolname = $1 AND rolcanlogin',
    parse: text,
    context: 'reload',
    description:
      "Query returning a user's SCRAM secret in its last column ($1 is the user name), run as auth_user; secrets are cached for 30 s. pg_authid needs a superuser: a SECURITY DEFINER function is the safer choice.",
  }),
  auth_dbname: def({
    default: 'postgres',
    parse: text,
    context: 'reload',
    description: 'Database auth_user connects to for auth_query.',
  }),
  workers: def({
    default: '0',
    parse: (v) => parseInteger(v, 0, 256),
    context: 'restart',
    description: 'Worker processes; 0 means one per CPU core.',
  }),
  watch_files: def({
    default: 'off',
    parse: parseBoolean,
    context: 'reload',
    description:
      'Reload automatically when certificate, key, CA, CRL, hba or ident files change on disk.',
  }),
  client_leg_parameters: def({
    default: 'on',
    parse: parseBoolean,
    context: 'reload',
    description:
      "Tell the server about the client's connection: add pgtunnel.client_addr, pgtunnel.ssl, pgtunnel.ssl_version, pgtunnel.ssl_client_dn … to each StartupMessage (read with current_setting()), and refuse clients that send pgtunnel.* settings themselves. Turn off for an upstream that refuses unknown startup parameters (PgBouncer without ignore_startup_parameters).",
  }),
  ssl_cert_expiry_warning: def({
    default: '30d',
    parse: (v) => parseDuration(v, 's', 0, 3_650 * 86_400_000),
    context: 'reload',
    description:
      'Warn (in the log, on /status and the status page) when the served certificate expires within this time.',
  }),
  admin_users: def({
    default: '',
    parse: list,
    context: 'reload',
    description:
      "Comma-separated users allowed into the admin console: the virtual database 'pgtunnel' (SHOW SESSIONS, SHOW SSL, SHOW CERTIFICATES, SHOW CONFIG, SHOW VERSION, RELOAD). They pass the hba rules and authenticate with the upstream server like any session; see docs/admin-console.md.",
  }),
  log_connections: def({
    default: 'off',
    parse: parseBoolean,
    context: 'reload',
    description: 'Log each connection with its TLS version, cipher and client certificate.',
  }),
  log_disconnections: def({
    default: 'off',
    parse: parseBoolean,
    context: 'reload',
    description: 'Log the end of each session with its duration and bytes moved.',
  }),
  log_min_messages: def({
    default: 'info',
    parse: (v) => parseEnum(v, ['debug', 'info', 'warn', 'error'] as const),
    context: 'reload',
    description: 'Least severe log level written.',
  }),
  pid_file: def({
    default: '',
    parse: text,
    context: 'restart',
    isPath: true,
    description:
      'Write the main process id here (used by `pgtunnel reload`); refuses to start while the file names a live process, and removes it on exit.',
  }),
  admin_listen: def({
    default: '',
    parse: text,
    context: 'restart',
    description:
      "Address for the HTTP status, metrics and health endpoint (host:port, a bare port or unix:/path; see docs/metrics.md), e.g. '127.0.0.1:9187'; '' disables it. Loopback only unless admin_listen_unsafe is on.",
  }),
  admin_listen_unsafe: def({
    default: 'off',
    parse: parseBoolean,
    context: 'restart',
    description:
      'Allow admin_listen on a non-loopback address (it reports client addresses and users).',
  }),
} as const;

export type SettingName = keyof typeof SETTINGS;

/** Parsed settings, keyed by their postgresql.conf-style names. */
export type Settings = {
  -readonly [K in SettingName]: ReturnType<(typeof SETTINGS)[K]['parse']>;
};

export function isSettingName(name: string): name is SettingName {
  return Object.hasOwn(SETTINGS, name);
}
