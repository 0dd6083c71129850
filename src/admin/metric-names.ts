// Every metric `pgtunnel serve` exports on /metrics, in one table. Names, label names and label
// values are public API (dashboards and alerts use them): renaming one is a breaking change,
// and docs/metrics.md lists the same table (a unit test keeps the two in sync).

/** How a metric is aggregated over worker processes: summed, or the highest value taken. */
export type MetricAggregation = 'sum' | 'max';

/** One exported metric. */
export interface MetricSpec {
  /** The Prometheus name, `pgtunnel_` prefixed; counters end in `_total`. */
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  /** The HELP text. */
  readonly help: string;
  readonly labels: readonly string[];
  /** Which process keeps it: the serving processes (summed over workers) or the main process. */
  readonly kept: 'serving' | 'main';
  readonly aggregation: MetricAggregation;
}

/**
 * Why a connection was refused: the `reason` label of `pgtunnel_connections_refused_total`.
 * Every value starts at 0, so a rate() over it works before the first refusal.
 */
export const REFUSAL_REASONS = {
  access_rule: 'no access rule (hba or the built-in rules) allowed the connection',
  too_many_connections: 'max_connections was reached',
  too_many_startups:
    'max_startup_connections was reached (too many connections still in their startup)',
  shutting_down: 'the gateway is shutting down',
  upstream_unavailable: 'the upstream server could not be reached',
  authentication_failed:
    'authentication did not complete (refused by the server, or the client left during it)',
  protocol_violation: 'the client broke the startup protocol (a malformed or unsupported packet)',
  proxy_protocol:
    'a PROXY protocol header was missing, malformed, or sent from an address not in proxy_protocol_trusted',
  forged_setting:
    'the client sent a pgtunnel.* setting itself (only the gateway may report the client leg)',
  unknown_server_name:
    'no route lists the TLS server name the client sent, and routes_unknown_server_name is refuse',
  unknown_database: 'the route chosen by the server name does not serve the database asked for',
  route_conflict: 'the server name chose one route and the database belongs to another',
  route_needs_sni:
    'the database belongs to a route with its own client CA, reached without its server name by a client with a certificate',
} as const;

export type RefusalReason = keyof typeof REFUSAL_REASONS;

/** The `reason` label of `pgtunnel_tls_handshake_failures_total`. */
export { HANDSHAKE_FAILURE_REASONS } from '../tls/handshake-failure.js';

/** The `result` label of `pgtunnel_reloads_total`. */
export const RELOAD_RESULTS = ['success', 'failure'] as const;

export const METRICS = {
  connectionsAccepted: {
    name: 'pgtunnel_connections_accepted_total',
    type: 'counter',
    help: 'Client connections that became a session with the upstream server (authenticated and relayed).',
    labels: ['tls'],
    kept: 'serving',
    aggregation: 'sum',
  },
  connectionsRefused: {
    name: 'pgtunnel_connections_refused_total',
    type: 'counter',
    help: 'Client connections refused with an error, by reason.',
    labels: ['reason'],
    kept: 'serving',
    aggregation: 'sum',
  },
  sessionsActive: {
    name: 'pgtunnel_sessions_active',
    type: 'gauge',
    help: 'Sessions being relayed now.',
    labels: [],
    kept: 'serving',
    aggregation: 'sum',
  },
  tlsHandshakeFailures: {
    name: 'pgtunnel_tls_handshake_failures_total',
    type: 'counter',
    help: 'TLS handshakes with clients that failed, timed out, or ended with a client certificate that did not verify, by reason.',
    labels: ['reason'],
    kept: 'serving',
    aggregation: 'sum',
  },
  routeConnectionsAccepted: {
    name: 'pgtunnel_route_connections_accepted_total',
    type: 'counter',
    help: 'Client connections that became a session, by route (routes_file; default is the main configuration).',
    labels: ['route'],
    kept: 'serving',
    aggregation: 'sum',
  },
  routeSessionsActive: {
    name: 'pgtunnel_route_sessions_active',
    type: 'gauge',
    help: 'Sessions being relayed now, by route (routes_file; default is the main configuration).',
    labels: ['route'],
    kept: 'serving',
    aggregation: 'sum',
  },
  clientBytesReceived: {
    name: 'pgtunnel_client_bytes_received_total',
    type: 'counter',
    help: 'Bytes received from clients and relayed upstream, counted when a session ends.',
    labels: [],
    kept: 'serving',
    aggregation: 'sum',
  },
  clientBytesSent: {
    name: 'pgtunnel_client_bytes_sent_total',
    type: 'counter',
    help: 'Bytes relayed from the upstream server to clients, counted when a session ends.',
    labels: [],
    kept: 'serving',
    aggregation: 'sum',
  },
  serverCertificateNotAfter: {
    name: 'pgtunnel_server_certificate_not_after_timestamp_seconds',
    type: 'gauge',
    help: 'Not-after time of the certificate the gateway serves (ssl_cert_file), in Unix seconds.',
    labels: ['file', 'subject', 'serial'],
    kept: 'serving',
    aggregation: 'max',
  },
  caCertificateNotAfter: {
    name: 'pgtunnel_ca_certificate_not_after_timestamp_seconds',
    type: 'gauge',
    help: 'Not-after time of each CA certificate in ssl_ca_file, in Unix seconds.',
    labels: ['file', 'subject', 'serial'],
    kept: 'serving',
    aggregation: 'max',
  },
  crlNextUpdate: {
    name: 'pgtunnel_crl_next_update_timestamp_seconds',
    type: 'gauge',
    help: 'Next-update time of each CRL (ssl_crl_file, ssl_crl_dir), in Unix seconds; past it, publish a new CRL.',
    labels: ['file', 'issuer'],
    kept: 'serving',
    aggregation: 'max',
  },
  reloads: {
    name: 'pgtunnel_reloads_total',
    type: 'counter',
    help: 'Configuration reloads, by result (a failed reload keeps the previous configuration).',
    labels: ['result'],
    kept: 'main',
    aggregation: 'sum',
  },
  lastReloadSuccessful: {
    name: 'pgtunnel_config_last_reload_successful',
    type: 'gauge',
    help: 'Whether the last configuration reload succeeded (1) or failed (0); 1 before any reload.',
    labels: [],
    kept: 'main',
    aggregation: 'max',
  },
  lastReloadSuccessTimestamp: {
    name: 'pgtunnel_config_last_reload_success_timestamp_seconds',
    type: 'gauge',
    help: 'When the configuration in effect was loaded (start or last successful reload), in Unix seconds.',
    labels: [],
    kept: 'main',
    aggregation: 'max',
  },
} as const satisfies Record<string, MetricSpec>;

export type MetricKey = keyof typeof METRICS;
