// The admin HTTP endpoint (node:http): GET / (the HTML status page), /status (JSON), /metrics
// (Prometheus text) and /health. Read-only: any method but GET or HEAD gets 405. What each
// route returns comes from AdminRoutes, so the same server works in-process and in a primary.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { formatSocketAddress, type SocketAddress } from '../net/address.js';
import { listenOn } from '../net/listen.js';
import type { Readiness } from './readiness.js';
import type { ServeState } from './serve-status.js';

/** What the routes report; supplied by serve-admin.ts. */
export interface AdminRoutes {
  state(): ServeState;
  status(): Promise<unknown>;
  metrics(): Promise<{ contentType: string; body: string }>;
  ready?(): Readiness;
  /** The HTML status page served at `/`. */
  page(): Promise<string>;
}

/** A running admin endpoint. */
export interface AdminServer {
  /** Where it listens, e.g. `127.0.0.1:9187` (the real port when 0 was asked for). */
  readonly address: string;
  /** Stops listening and closes open HTTP connections. */
  close(): Promise<void>;
}

/** Slow or stuck HTTP clients must not hold sockets for long. */
const REQUEST_TIMEOUT_MS = 10_000;

export async function startAdminServer(
  address: SocketAddress,
  routes: AdminRoutes,
  logger: Logger,
): Promise<AdminServer> {
  const server = createServer((request, response) => {
    handle(request, response, routes).catch((error: unknown) => {
      logger.error({ err: describeError(error), path: request.url }, 'admin request failed');
      if (!response.headersSent) {
        send(
          response,
          500,
          'text/plain; charset=utf-8',
          `internal error: ${describeError(error)}\n`,
        );
      } else {
        response.destroy();
      }
    });
  });
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = REQUEST_TIMEOUT_MS;
  server.keepAliveTimeout = 5_000;

  // The socket file keeps the umask's permissions: the endpoint is not for every local user.
  await listenOn(server, address, { purpose: 'for admin_listen', unixSocketMode: 'umask' });
  server.on('error', (error) =>
    logger.error({ err: describeError(error) }, 'admin endpoint error'),
  );

  const bound = server.address();
  const shown =
    address.kind === 'tcp' && bound && typeof bound === 'object'
      ? formatSocketAddress({ kind: 'tcp', host: address.host, port: (bound as AddressInfo).port })
      : formatSocketAddress(address);
  logger.info({ address: shown }, 'admin endpoint listening (/status, /metrics, /health)');
  return {
    address: shown,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  routes: AdminRoutes,
): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD');
    send(
      response,
      405,
      'text/plain; charset=utf-8',
      'method not allowed: the admin endpoint is read-only\n',
    );
    return;
  }
  const path = new URL(request.url ?? '/', 'http://admin').pathname;
  switch (path) {
    case '/': {
      send(response, 200, 'text/html; charset=utf-8', await routes.page(), PAGE_HEADERS);
      return;
    }
    case '/health': {
      const state = routes.state();
      if (state === 'stopping') send(response, 503, 'text/plain; charset=utf-8', 'stopping\n');
      else send(response, 200, 'text/plain; charset=utf-8', 'ok\n');
      return;
    }
    case '/ready': {
      const { ready, reason } = routes.ready?.() ?? { ready: false, reason: 'starting' };
      send(response, ready ? 200 : 503, 'text/plain; charset=utf-8', `${reason}\n`);
      return;
    }
    case '/status': {
      const body = `${JSON.stringify(await routes.status(), null, 2)}\n`;
      send(response, 200, 'application/json; charset=utf-8', body);
      return;
    }
    case '/metrics': {
      const metrics = await routes.metrics();
      send(response, 200, metrics.contentType, metrics.body);
      return;
    }
    default:
      send(
        response,
        404,
        'text/plain; charset=utf-8',
        'not found: try / (the status page), /status, /metrics or /health\n',
      );
  }
}

/** The page loads nothing from anywhere, which the browser is told to enforce. */
const PAGE_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'",
  'X-Content-Type-Options': 'nosniff',
};

function send(
  response: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    ...headers,
  });
  response.end(body);
}
