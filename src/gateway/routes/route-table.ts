// Which route a connection takes, from the TLS server name the client sent (SNI) and the
// database its StartupMessage asks for. Pure: names in, a route or a PostgreSQL-shaped refusal
// out. The rules (docs/serve.md, "Routes"):
// 1. A route whose server_name matches the client's server name wins; it served the
//    certificate. If it lists databases, the requested one must be among them. A database that
//    another route lists is refused: the client named one route and asked for another's.
// 2. Otherwise, with routes_unknown_server_name = refuse, a server name that no route lists
//    and the main certificate does not cover is refused.
// 3. Otherwise a route listing the database takes it. If that route checks client
//    certificates with its own CA or CRLs, the handshake (done before the database was known,
//    with the main CA) did not check them its way: a client that presented a certificate is
//    told to connect with the route's server name.
// 4. Otherwise the default route (the main configuration).
import { SqlState, type SqlStateCode } from '../../protocol/codes.js';
import { normalizeServerName, serverNameMatches } from './server-name.js';

export interface RouteEntry<R> {
  route: R;
  name: string;
  /** Normalized server_name patterns (exact names and `*.` wildcards). */
  serverNames: readonly string[];
  databases: readonly string[];
  /** The route sets its own ssl_ca_file, ssl_crl_file or ssl_crl_dir. */
  ownClientTrust: boolean;
}

export type UnknownServerName = 'default' | 'refuse';

export interface RouteRequest {
  /** The server name the client sent in its ClientHello, if any. */
  serverName: string | undefined;
  /** The database asked for; undefined for the admin console, which every route serves. */
  database: string | undefined;
  /** The client presented a certificate in the handshake. */
  clientCertificatePresented: boolean;
}

export type RouteChoice<R> =
  | { kind: 'route'; route: R | undefined; via: 'server_name' | 'database' | 'default' }
  | {
      kind: 'refuse';
      sqlstate: SqlStateCode;
      message: string;
      detail?: string;
      hint?: string;
      /** Why, in a word, for the refusal counter and the log. */
      reason: 'unknown_server_name' | 'unknown_database' | 'route_conflict' | 'route_needs_sni';
    };

export class RouteTable<R> {
  constructor(
    private readonly entries: readonly RouteEntry<R>[],
    private readonly unknownServerName: UnknownServerName,
    /** Whether the main certificate is valid for a (normalized) server name. */
    private readonly mainCertificateCovers: (serverName: string) => boolean,
  ) {}

  get size(): number {
    return this.entries.length;
  }

  /** The route whose server_name matches `serverName`: an exact name before a wildcard. */
  byServerName(serverName: string | undefined): RouteEntry<R> | undefined {
    if (serverName === undefined || serverName === '') return undefined;
    const name = normalizeServerName(serverName);
    return (
      this.entries.find((entry) => entry.serverNames.includes(name)) ??
      this.entries.find((entry) =>
        entry.serverNames.some(
          (pattern) => pattern.startsWith('*.') && serverNameMatches(pattern, name),
        ),
      )
    );
  }

  byDatabase(database: string | undefined): RouteEntry<R> | undefined {
    if (database === undefined) return undefined;
    return this.entries.find((entry) => entry.databases.includes(database));
  }

  choose(request: RouteRequest): RouteChoice<R> {
    const { database } = request;
    const serverName =
      request.serverName === undefined || request.serverName === ''
        ? undefined
        : normalizeServerName(request.serverName);
    const named = this.byServerName(request.serverName);
    const forDatabase = this.byDatabase(database);
    if (named) {
      if (forDatabase && forDatabase !== named) {
        return {
          kind: 'refuse',
          reason: 'route_conflict',
          sqlstate: SqlState.SQLSERVER_REJECTED_ESTABLISHMENT_OF_SQLCONNECTION,
          message: `database "${database}" is served by route "${forDatabase.name}", not by server name "${serverName}"`,
          hint: `Connect with a host name of route "${forDatabase.name}", or ask for a database of route "${named.name}".`,
        };
      }
      if (database !== undefined && named.databases.length > 0 && forDatabase !== named) {
        return {
          kind: 'refuse',
          reason: 'unknown_database',
          sqlstate: SqlState.INVALID_CATALOG_NAME,
          message: `no such database: ${database}`,
          detail: `Server name "${serverName}" is routed to "${named.name}", which serves only: ${named.databases.join(', ')}.`,
        };
      }
      return { kind: 'route', route: named.route, via: 'server_name' };
    }
    if (
      serverName !== undefined &&
      this.unknownServerName === 'refuse' &&
      !this.mainCertificateCovers(serverName)
    ) {
      return {
        kind: 'refuse',
        reason: 'unknown_server_name',
        sqlstate: SqlState.SQLSERVER_REJECTED_ESTABLISHMENT_OF_SQLCONNECTION,
        message: `no route for server name "${serverName}"`,
        hint: 'Connect with a host name the gateway serves (routes_unknown_server_name = refuse).',
      };
    }
    if (forDatabase) {
      if (forDatabase.ownClientTrust && request.clientCertificatePresented) {
        return {
          kind: 'refuse',
          reason: 'route_needs_sni',
          sqlstate: SqlState.SQLSERVER_REJECTED_ESTABLISHMENT_OF_SQLCONNECTION,
          message: `database "${database}" is served by route "${forDatabase.name}", which checks client certificates with its own CA, but the TLS handshake was not made for it`,
          hint:
            forDatabase.serverNames.length > 0
              ? `Connect with a server name of route "${forDatabase.name}" (libpq sends the host name; not an IP address).`
              : `Route "${forDatabase.name}" has no server_name: give it one, or drop its own ssl_ca_file and CRLs.`,
        };
      }
      return { kind: 'route', route: forDatabase.route, via: 'database' };
    }
    return { kind: 'route', route: undefined, via: 'default' };
  }
}
