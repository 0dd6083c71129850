// The Node API's client-side TLS tunnel: what `pgtunnel connect` does, inside the calling
// process. A local plaintext endpoint whose sessions go on to the server with libpq's sslmode
// semantics (or stunnel-style raw TLS with `raw`).

import { startTunnel } from '../connect/tunnel-server.js';
import { buildTargets, connectValueToConnInfo, type TunnelSpec } from '../connect/tunnel-spec.js';
import { type Logger, silentLogger } from '../log.js';
import { type LocalEndpoint, splitHostPort } from './local-endpoint.js';

export interface TlsTunnelOptions {
  /** The server: a libpq connection string or postgresql:// URI (PG* variables apply). */
  conninfo: string;
  /** Local address to listen on; default `127.0.0.1`. */
  localHost?: string;
  /** Local port; default 0 (a free one, reported in the result). */
  localPort?: number;
  /** stunnel-compatible raw TLS instead of PostgreSQL's SSLRequest; default false. */
  raw?: boolean;
  /** Close sessions idle this long; default never. */
  idleTimeoutMs?: number;
  /** Environment for libpq defaults (PGSSLMODE, PGSERVICE …); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** A pino-compatible logger; default silent. */
  logger?: Logger;
}

/**
 * Starts listening and resolves with the local endpoint. The server is dialled per session,
 * so a server that is down makes each client get a PostgreSQL error saying why. Rejects with
 * a PgTunnelError: ERR_CONNINFO or ERR_CONFIG_INVALID for a bad connection string, ERR_LISTEN.
 */
export async function openTlsTunnel(options: TlsTunnelOptions): Promise<LocalEndpoint> {
  const raw = options.raw ?? false;
  const { targets, warnings } = buildTargets(connectValueToConnInfo(options.conninfo), {
    raw,
    ...(options.env ? { env: options.env } : {}),
  });
  const spec: TunnelSpec = {
    name: 'api',
    listen: [{ kind: 'tcp', host: options.localHost ?? '127.0.0.1', port: options.localPort ?? 0 }],
    targets,
    raw,
    warnings,
  };
  if (options.idleTimeoutMs) spec.idleTimeoutMs = options.idleTimeoutMs;
  const tunnel = await startTunnel(spec, options.logger ?? silentLogger);
  const { host, port } = splitHostPort(tunnel.addresses[0] ?? '');
  return { host, port, close: () => tunnel.close('fast') };
}
