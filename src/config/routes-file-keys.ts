// The keys of a routes_file section, as one table: the two that choose the route and the main
// file's settings a route may set for itself. Data only; src/gateway/routes/route-file.ts
// parses with it and docs/configuration.md is rendered from it.
import type { SettingName } from './settings.js';

/** The keys that choose a route, with what they match. */
export const ROUTE_MATCH_KEYS = {
  server_name:
    "Comma-separated TLS server names (SNI) the route answers for: exact names, or '*.example.com' for any one label in front of example.com; compared case-insensitively, a trailing dot ignored. The route's certificate is served to these names.",
  database:
    'Comma-separated database names (exact, case-sensitive, as in the StartupMessage) the route serves, as the names of [databases] in PgBouncer.',
} as const;

/** Settings of the main file a route may set for itself; the rest are the gateway's alone. */
export const ROUTE_SETTINGS = [
  'ssl_cert_file',
  'ssl_key_file',
  'ssl_ca_file',
  'ssl_crl_file',
  'ssl_crl_dir',
  'hba_file',
  'ident_file',
  'upstream',
  'upstream_proxy_protocol',
  'client_leg_parameters',
  'auth_user',
  'auth_query',
  'auth_dbname',
] as const satisfies readonly SettingName[];

export type RouteSettingName = (typeof ROUTE_SETTINGS)[number];
