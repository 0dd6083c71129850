// One client connection, as named steps that each return a value or a Stop: negotiate
// (SSLRequest, GSSENCRequest, direct TLS, CancelRequest), admit (shutdown, max_connections,
// replication, hba), openUpstream, authenticate (relayed, or SCRAM at the gateway), relay;
// then one finish() that answers, logs and closes. Every refusal is the ErrorResponse
// PostgreSQL would send (backend_startup.c ProcessStartupPacket, hba.c, auth.c).
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { describeError } from '../errors.js';
import { replicationMode } from '../hba/match.js';
import { sendCancelToEach } from '../libpq/cancel.js';
import { UpstreamError } from '../libpq/upstream-error.js';
import { openFirstUpstreamSession, type UpstreamSession } from '../libpq/upstream-session.js';
import { type Logger, lazyChild } from '../log.js';
import { pump } from '../net/pump.js';
import { fatal } from '../protocol/backend-error.js';
import { SqlState, type SqlStateCode } from '../protocol/codes.js';
import { encodeTerminate } from '../protocol/query-messages.js';
import { requestedDatabase } from '../protocol/startup-packet.js';
import type { StartupOutcome } from '../startup/negotiate-startup.js';
import { endWithReply } from '../startup/refusal.js';
import { NO_CLIENT_CERTIFICATE } from '../tls/peer-identity.js';
import type { AccessDecision } from './access-policy.js';
import { adminConsoleRefusal, isAdminConsole } from './admin-console-gate.js';
import {
  findForgedSetting,
  forgedSettingRefusal,
  serverStartupPacket,
} from './client-leg-parameters.js';
import type { SessionRecord } from './gateway-sessions.js';
import type { ConnectionEnvironment, GatewayGeneration } from './generation.js';
import { reportUnverifiedClientCertificate } from './handshake-report.js';
import { negotiate } from './negotiation.js';
import { scramProxySetup } from './scram/scram-proxy.js';
import { relayStartup } from './startup-relay.js';
import { upstreamProxyHeader } from './upstream-proxy-header.js';

/** What one connection runs with; passed to every step. */
interface Connection {
  socket: Socket;
  transport: 'tcp' | 'local';
  env: ConnectionEnvironment;
  generation: GatewayGeneration;
  record: SessionRecord;
  log: Logger;
  /** Aborted by authentication_timeout: stops an upstream connection still being opened. */
  abandon(): AbortSignal;
  /** Clears authentication_timeout once the session is authenticated. */
  authenticated(): void;
}

type Startup = Extract<StartupOutcome, { kind: 'startup' }>;

/** Why a step did not hand over to the next one. */
type Stop =
  /** Send this FATAL to the client, then close. */
  | { kind: 'refuse'; client: Duplex; reply: Buffer }
  /** Nothing more to say: the step already answered, or nobody is left to tell. */
  | { kind: 'end' };

type Step<T> = { ok: true; value: T } | { ok: false; stop: Stop };

const END: Stop = { kind: 'end' };

function refusal(
  client: Duplex,
  sqlstate: SqlStateCode,
  message: string,
  extra: { detail?: string | undefined; hint?: string | undefined } = {},
): { ok: false; stop: Stop } {
  const fields = {
    ...(extra.detail === undefined ? {} : { detail: extra.detail }),
    ...(extra.hint === undefined ? {} : { hint: extra.hint }),
  };
  return { ok: false, stop: { kind: 'refuse', client, reply: fatal(sqlstate, message, fields) } };
}

export async function handleClientConnection(
  socket: Socket,
  transport: 'tcp' | 'local',
  env: ConnectionEnvironment,
): Promise<void> {
  const generation = env.current();
  const record = env.registry.open(socket, transport);
  const log = lazyChild(env.logger, { conn: record.id });
  socket.setNoDelay(true);
  socket.on('error', () => {}); // reported through 'close'; a reset must not crash the process
  if (
    env.registry.applyStartupLimit(record, generation.settings.max_startup_connections) ===
    'dead-end'
  ) {
    log.debug({ client: record.clientAddress }, 'max_startup_connections reached');
  }

  // authentication_timeout covers TLS, startup and authentication, as in PostgreSQL. Its abort
  // signal is made only for a connection that opens an upstream: many end before that, and an
  // AbortController costs more than the rest of such a connection's bookkeeping.
  let abandon: AbortController | undefined;
  let expired: Error | undefined;
  const deadline = setTimeout(() => {
    log.warn(
      { client: record.clientAddress, state: record.state },
      'canceling authentication due to timeout',
    );
    expired = new Error('authentication_timeout expired');
    abandon?.abort(expired);
    env.registry.close(record);
  }, generation.settings.authentication_timeout);
  const conn: Connection = {
    socket,
    transport,
    env,
    generation,
    record,
    log,
    abandon: () => {
      if (!abandon) {
        abandon = new AbortController();
        if (expired) abandon.abort(expired);
      }
      return abandon.signal;
    },
    authenticated: () => {
      clearTimeout(deadline);
      env.registry.started(record);
    },
  };

  let stop: Stop = END;
  try {
    stop = await run(conn);
  } catch (error) {
    log.info({ client: record.clientAddress, err: describeError(error) }, 'connection closed');
  } finally {
    await finish(conn, stop);
    clearTimeout(deadline);
  }
}

/** The steps in order; the first that stops ends the connection. */
async function run(conn: Connection): Promise<Stop> {
  const negotiated = await negotiate(
    conn.socket,
    conn.transport,
    conn.generation,
    conn.record,
    conn.log,
    conn.env.events,
  );
  reportUnverifiedClientCertificate(
    conn.record.tls,
    conn.record,
    conn.log,
    conn.env.events,
    conn.generation.certificates ?? [],
  );
  if (negotiated.kind === 'cancel') {
    await forwardCancel(conn, negotiated.processId, negotiated.secretKey);
    negotiated.stream.destroy();
    return END;
  }
  if (negotiated.kind !== 'startup') return END;
  const admitted = admit(conn, negotiated);
  if (!admitted.ok) return admitted.stop;
  const upstream = await openUpstream(conn, negotiated);
  if (!upstream.ok) return upstream.stop;
  const session = await authenticate(conn, negotiated, upstream.value, admitted.value);
  if (!session.ok) return session.stop;
  if (isAdminConsole(conn.record.database)) {
    // Who may use the console is checked after authentication, as PostgreSQL checks the
    // CONNECT privilege: a client learns nothing about admin_users before it has logged in.
    const notAdmin = adminConsoleRefusal(
      conn.record.database ?? '',
      conn.record.user ?? '',
      conn.generation.settings,
    );
    // The console answers for itself: the server session was only for the login.
    upstream.value.socket.end(encodeTerminate());
    if (notAdmin) {
      return refusal(negotiated.stream, notAdmin.sqlstate, notAdmin.message, notAdmin).stop;
    }
    await conn.env.adminConsole(negotiated.stream, conn.record, conn.env, conn.log);
    return END;
  }
  await relay(conn, negotiated, upstream.value, admitted.value, session.value);
  return END;
}

/** Answers the client if a step asked for it, and releases the connection. */
async function finish(conn: Connection, stop: Stop): Promise<void> {
  if (stop.kind === 'refuse') await endWithReply(stop.client, stop.reply);
  conn.env.registry.close(conn.record);
}

type Admitted = Extract<AccessDecision, { allow: true }>;

/** Shutdown, max_connections, the replication parameter and the access rules. */
function admit(conn: Connection, negotiated: Startup): Step<Admitted> {
  const { env, record, generation, log } = conn;
  const client = negotiated.stream;
  const parameters = negotiated.startup.parameters;
  const user = parameters.get('user') ?? '';
  const database = requestedDatabase(parameters);
  record.user = user;
  record.database = database;
  record.applicationName = parameters.get('application_name');

  if (env.isShuttingDown()) {
    env.events.connectionRefused('shutting_down');
    return refusal(client, SqlState.CANNOT_CONNECT_NOW, 'the database system is shutting down');
  }
  if (record.deadEnd) {
    env.events.connectionRefused('too_many_startups');
    return refusal(client, SqlState.TOO_MANY_CONNECTIONS, 'sorry, too many clients already');
  }
  if (!env.registry.admit(record, generation.settings.max_connections)) {
    env.events.connectionRefused('too_many_connections');
    return refusal(client, SqlState.TOO_MANY_CONNECTIONS, 'sorry, too many clients already');
  }
  const replication = replicationMode(parameters.get('replication'));
  if (replication === undefined) {
    return refusal(
      client,
      SqlState.INVALID_PARAMETER_VALUE,
      `invalid value for parameter "replication": "${parameters.get('replication')}"`,
      { hint: 'Valid values are: "false", 0, "true", 1, "database".' },
    );
  }
  const forged = generation.settings.client_leg_parameters
    ? findForgedSetting(parameters)
    : undefined;
  if (forged) {
    env.events.connectionRefused('forged_setting');
    log.info(
      { client: record.clientAddress, setting: forged.name },
      'client sent a pgtunnel.* setting itself',
    );
    const refused = forgedSettingRefusal(forged);
    return refusal(client, refused.sqlstate, refused.message, refused);
  }
  const routed = chooseRoute(conn, negotiated, database);
  if (!routed.ok) return routed;
  const decision = conn.generation.access.decide({
    transport: conn.transport,
    address: conn.transport === 'tcp' ? normalizeAddress(conn.socket.remoteAddress) : undefined,
    ssl: negotiated.tls !== undefined,
    database,
    user,
    replication,
    clientCertificate: record.tls?.client ?? NO_CLIENT_CERTIFICATE,
  });
  if (!decision.allow) {
    env.events.connectionRefused('access_rule');
    log.info(
      {
        client: record.clientAddress,
        user,
        database,
        route: record.route,
        detail: decision.logDetail,
      },
      decision.message,
    );
    return refusal(client, decision.sqlstate, decision.message, { detail: decision.detail });
  }
  return { ok: true, value: decision };
}

/**
 * With routes_file: the route of the client's server name and database (routes/route-table.ts
 * has the rules). From here on the connection runs with the route's generation.
 */
function chooseRoute(conn: Connection, negotiated: Startup, database: string): Step<void> {
  const routes = conn.generation.routes;
  if (!routes) return { ok: true, value: undefined };
  const { record, log, env } = conn;
  const serverName = negotiated.tls?.servername;
  const choice = routes.choose({
    serverName: typeof serverName === 'string' ? serverName : undefined,
    // The admin console is the gateway's own: every route serves it.
    database: isAdminConsole(database) ? undefined : database,
    clientCertificatePresented: record.tls?.client.presented ?? false,
  });
  if (choice.kind === 'refuse') {
    env.events.connectionRefused(choice.reason);
    log.info(
      { client: record.clientAddress, serverName, database, user: record.user },
      choice.message,
    );
    return refusal(negotiated.stream, choice.sqlstate, choice.message, choice);
  }
  if (choice.route) conn.generation = choice.route;
  record.route = conn.generation.route;
  // Every later line of this session names its route.
  conn.log = log.child({ route: record.route });
  conn.log.debug({ via: choice.via, serverName }, 'route chosen');
  return { ok: true, value: undefined };
}

/** The first upstream server that accepts, with the client's StartupMessage sent on. */
async function openUpstream(conn: Connection, negotiated: Startup): Promise<Step<UpstreamSession>> {
  const { env, record, log } = conn;
  const { settings } = conn.generation;
  record.state = 'authenticating';
  // The client's StartupMessage with the pgtunnel.* report; the admin console logs in to
  // auth_dbname, so that the server checks the password.
  const packet = serverStartupPacket(negotiated.packet, negotiated.startup.parameters, record, {
    report: settings.client_leg_parameters,
    database: isAdminConsole(record.database) ? settings.auth_dbname : undefined,
  });
  if (!Buffer.isBuffer(packet)) {
    return refusal(negotiated.stream, packet.sqlstate, packet.message, packet);
  }
  let upstream: UpstreamSession;
  try {
    upstream = await openFirstUpstreamSession(conn.generation.upstreams, packet, {
      signal: conn.abandon(),
      preamble: upstreamProxyHeader(conn.generation.settings, record, conn.socket),
      // The server's bytes go to a TLS client: read them without a buffer per read.
      sharedReadBuffer: negotiated.tls !== undefined,
    });
  } catch (error) {
    if (conn.abandon().aborted) return { ok: false, stop: END };
    env.events.connectionRefused('upstream_unavailable');
    log.error({ err: describeError(error) }, 'could not connect to the upstream server');
    return refusal(
      negotiated.stream,
      SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
      `could not connect to the upstream server: ${describeError(error)}`,
      { hint: error instanceof UpstreamError ? error.hint : undefined },
    );
  }
  if (conn.socket.destroyed) {
    // The client left (or timed out) while the upstream connection was being opened.
    upstream.socket.destroy();
    return { ok: false, stop: END };
  }
  record.sockets.add(upstream.socket);
  record.upstream = upstream.describe;
  upstream.socket.on('error', () => {});
  if (negotiated.rest.length > 0) upstream.socket.write(negotiated.rest);
  return { ok: true, value: upstream };
}

type Authenticated = Extract<Awaited<ReturnType<typeof relayStartup>>, { ok: true }>;

/** The authentication exchange, relayed (or SCRAM at the gateway), up to ReadyForQuery. */
async function authenticate(
  conn: Connection,
  negotiated: Startup,
  upstream: UpstreamSession,
  decision: Admitted,
): Promise<Step<Authenticated>> {
  const { env, record, log } = conn;
  const client = negotiated.stream;
  const tlsClient = negotiated.tls;
  const outcome = await relayStartup(client, upstream.socket, upstream.firstBytes, {
    passThroughAuth: decision.passThroughAuth,
    // SCRAM cannot pass a hop that is TLS on both legs; scram-proxy.ts handles it there.
    scram:
      tlsClient && upstream.tls
        ? scramProxySetup({
            generation: conn.generation,
            client: tlsClient,
            upstream: upstream.socket as TLSSocket,
            user: record.user ?? '',
            log,
            sharedLog: env.logger,
          })
        : undefined,
  });
  if (!outcome.ok) {
    // The server's (or the SCRAM proxy's) error has reached the client already.
    env.events.connectionRefused('authentication_failed');
    log.info(
      { user: record.user, database: record.database, reason: outcome.reason },
      'connection not established',
    );
    await endWithReply(client);
    return { ok: false, stop: END };
  }
  conn.authenticated();
  return { ok: true, value: outcome };
}

/** Forwards bytes both ways, unparsed, until either side closes. */
async function relay(
  conn: Connection,
  negotiated: Startup,
  upstream: UpstreamSession,
  decision: Admitted,
  session: Authenticated,
): Promise<void> {
  const { env, record, log } = conn;
  const { settings } = conn.generation;
  const client = negotiated.stream;
  record.state = 'active';
  record.backendPid = session.backendKey?.processId;
  env.events.sessionStarted(negotiated.tls !== undefined, record.route);
  if (settings.log_connections) {
    log.info(
      {
        client: record.clientAddress,
        user: record.user,
        database: record.database,
        application: record.applicationName,
        tls: record.tls
          ? {
              version: record.tls.version,
              cipher: record.tls.cipher,
              client_dn: record.tls.client.dn,
            }
          : undefined,
        upstream: upstream.describe,
        rule: decision.rule,
      },
      'connection authorized',
    );
  }
  const observe = env.registry.relaying(record, client, upstream.socket, session.remainder);
  if (session.remainder.length > 0) client.write(session.remainder);
  const started = Date.now();
  await pump(client, upstream.socket, { observeBtoA: observe });
  if (settings.log_disconnections) {
    log.info(
      {
        user: record.user,
        database: record.database,
        durationMs: Date.now() - started,
        bytesFromClient: upstream.socket.bytesWritten,
        bytesToClient: upstream.socket.bytesRead,
      },
      'disconnection',
    );
  }
  env.events.sessionEnded(upstream.socket.bytesWritten, upstream.socket.bytesRead, record.route);
}

async function forwardCancel(conn: Connection, processId: number, secretKey: Buffer) {
  try {
    // A cancel request names no route: it goes to every route's servers.
    const targets = conn.generation.cancelTargets ?? conn.generation.upstreams;
    await sendCancelToEach(targets, processId, secretKey, {
      preamble: upstreamProxyHeader(conn.generation.settings, conn.record, conn.socket),
    });
    conn.log.debug({ processId }, 'cancel request forwarded');
  } catch (error) {
    conn.log.warn({ err: describeError(error) }, 'could not forward a cancel request');
  }
}

/** IPv4-mapped IPv6 (::ffff:127.0.0.1) is reported as the IPv4 address, as PostgreSQL does. */
function normalizeAddress(address: string | undefined): string | undefined {
  if (address?.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  return address;
}
