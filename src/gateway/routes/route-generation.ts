// Builds the serving side of routes from their snapshot: each route becomes a generation of its
// own (settings, TLS acceptor, access rules, upstream), built once per configuration load and
// shared by every connection that takes the route. A route with TLS files of its own gets a
// whole TLS server rather than an SNICallback context: the server name is read from the
// ClientHello before the handshake (negotiation.ts), so the route's CA, CRLs, client-certificate
// request and session-ticket keys apply as a whole, and key types may differ between routes
// (an SNICallback context of another key type was seen serving the default certificate).
import { hkdfSync, X509Certificate } from 'node:crypto';
import type { TlsOptions } from 'node:tls';
import type { UpstreamTarget } from '../../libpq/upstream-session.js';
import type { TicketKeys } from '../../tls/ticket-keys.js';
import { TlsAcceptor } from '../../tls/tls-acceptor.js';
import { builtInAccessPolicy } from '../access-policy.js';
import type { GatewayGeneration } from '../generation.js';
import { hbaPolicy } from '../hba-policy.js';
import { upstreamTargets } from '../upstream-target.js';
import { DEFAULT_ROUTE_NAME } from './route-file.js';
import type { RoutesSnapshot } from './route-snapshot.js';
import { RouteTable } from './route-table.js';

/** `main` with the routes of `routes`; `main` itself stays the default route. */
export function withRoutes(
  main: GatewayGeneration,
  routes: RoutesSnapshot,
  mainTls: TlsOptions | undefined,
  ticketKeys: TicketKeys | undefined,
): GatewayGeneration {
  const built = routes.routes.map((route) => {
    const generation: GatewayGeneration = {
      settings: route.settings,
      // A route with its own certificate or CA has its own TLS server, with session tickets
      // of its own: a ticket from one route never resumes a session on another.
      tls: route.tls ? routeAcceptor(route.tls, route.name, ticketKeys) : main.tls,
      access: route.inheritsRules
        ? main.access
        : route.hba
          ? hbaPolicy(route.hba)
          : builtInAccessPolicy,
      upstreams: upstreamTargets(route.settings.upstream),
      certificates: route.certificates.length > 0 ? route.certificates : main.certificates,
      route: route.name,
    };
    return {
      route: generation,
      name: route.name,
      serverNames: route.serverNames,
      databases: route.databases,
      ownClientTrust: route.ownClientTrust,
    };
  });
  const mainCertificate = mainTls?.cert ? new X509Certificate(mainTls.cert.toString()) : undefined;
  const table = new RouteTable<GatewayGeneration>(
    built,
    main.settings.routes_unknown_server_name,
    (name) => mainCertificate?.checkHost(name) !== undefined,
  );
  return {
    ...main,
    route: DEFAULT_ROUTE_NAME,
    routes: table,
    cancelTargets: uniqueTargets([main.upstreams, ...built.map((entry) => entry.route.upstreams)]),
  };
}

function routeAcceptor(
  options: TlsOptions,
  route: string,
  ticketKeys: TicketKeys | undefined,
): TlsAcceptor {
  if (!ticketKeys) return new TlsAcceptor(options);
  // Derived, not random, so that every worker derives the same keys from the shared ones.
  const derive = (key: Buffer) =>
    Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `pgtunnel route ${route}`, 48));
  return new TlsAcceptor(
    { ...options, ticketKeys: derive(ticketKeys.current) },
    ticketKeys.previous ? [derive(ticketKeys.previous)] : [],
  );
}

function uniqueTargets(lists: ReadonlyArray<readonly UpstreamTarget[]>): UpstreamTarget[] {
  const seen = new Set<string>();
  return lists.flat().filter((target) => {
    const key = JSON.stringify(target);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
