// One client connection, as a named sequence of steps: negotiate (SSLRequest, GSSENCRequest,
// direct TLS, CancelRequest), read the StartupMessage, check access, open the upstream
// session, relay authentication, then forward bytes unparsed. Every refusal is the
// ErrorResponse PostgreSQL would send (backend_startup.c ProcessStartupPacket, hba.c, auth.c).
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { adminConsoleLogin, runAdminConsole } from '../admin/console/console-entry.js';
import type { Settings } from '../config/settings.js';
import { describeError } from '../errors.js';
import { replicationMode } from '../hba/match.js';
import { UpstreamError } from '../libpq/upstream-error.js';
import {
  openFirstUpstreamSession,
  sendCancelToEach,
  type UpstreamSession,
  type UpstreamTarget,
} from '../libpq/upstream-session.js';
import type { Logger } from '../log.js';
import { pump } from '../net/pump.js';
import { fatal } from '../protocol/backend-error.js';
import { SqlState } from '../protocol/codes.js';
import { requestedDatabase, StartupPacketError } from '../protocol/startup-packet.js';
import type { CertificateEntry } from '../tls/certificate-inventory.js';
import type { HandshakeFailureReason } from '../tls/handshake-failure.js';
import { NO_CLIENT_CERTIFICATE } from '../tls/peer-identity.js';
import type { TlsAcceptor } from '../tls/tls-acceptor.js';
import type { AccessPolicy } from './access-policy.js';
import {
  findForgedSetting,
  refuseForgedSetting,
  serverStartupPacket,
} from './client-leg-parameters.js';
import { IncompletePacketError } from './first-packet-reader.js';
import { reportUnverifiedClientCertificate } from './handshake-report.js';
import { negotiate } from './negotiation.js';
import { ConnectionEnded, endGracefully, Refusal, refuse } from './refusal.js';
import { scramProxySetup } from './scram/scram-proxy.js';
import type { SessionRegistry } from './session-registry.js';
import { relayStartup } from './startup-relay.js';

/** The configuration a connection runs under; a reload makes a new one, open sessions keep theirs. */
export interface GatewayGeneration {
  readonly settings: Settings;
  /** Undefined when ssl is off. */
  readonly tls: TlsAcceptor | undefined;
  readonly access: AccessPolicy;
  /** The servers of `upstream`, in libpq's order; a session goes to the first that accepts. */
  readonly upstreams: readonly UpstreamTarget[];
  /** The served certificate, CAs and CRLs in effect, with their expiry (metrics, console). */
  readonly certificates?: readonly CertificateEntry[];
}

export interface ConnectionEnvironment {
  current(): GatewayGeneration;
  readonly registry: SessionRegistry;
  readonly logger: Logger;
  isShuttingDown(): boolean;
  readonly events: GatewayEvents;
}

/** Observability hooks (metrics); every call is cheap and optional work. */
export interface GatewayEvents {
  connectionRefused(reason: string): void;
  sessionStarted(tls: boolean): void;
  sessionEnded(bytesIn: number, bytesOut: number): void;
  tlsHandshakeFailed(reason: HandshakeFailureReason): void;
}

export async function handleClientConnection(
  socket: Socket,
  transport: 'tcp' | 'local',
  env: ConnectionEnvironment,
): Promise<void> {
  const generation = env.current();
  const { settings } = generation;
  const record = env.registry.open(socket, transport);
  const log = env.logger.child({ conn: record.id });
  socket.setNoDelay(true);
  socket.on('error', () => {}); // reported through 'close'; a reset must not crash the process

  // authentication_timeout covers TLS, startup and authentication, as in PostgreSQL.
  // Aborting also stops an upstream connection still being opened, so none is left behind.
  const abandon = new AbortController();
  const deadline = setTimeout(() => {
    log.warn(
      { client: record.clientAddress, state: record.state },
      'canceling authentication due to timeout',
    );
    abandon.abort(new Error('authentication_timeout expired'));
    env.registry.close(record);
  }, settings.authentication_timeout);

  // The stream the client is reached on: the socket, then the TLS socket once negotiated.
  const current = { stream: socket as Duplex };
  try {
    const negotiated = await negotiate(
      socket,
      transport,
      generation,
      record,
      log,
      current,
      env.events,
    );
    reportUnverifiedClientCertificate(
      record.tls,
      record,
      log,
      env.events,
      generation.certificates ?? [],
    );
    const client = negotiated.stream;
    const startup = negotiated.startup;
    if (startup.kind === 'cancel') {
      await forwardCancel(generation.upstreams, startup.processId, startup.secretKey, log);
      throw new ConnectionEnded();
    }
    if (startup.kind !== 'startup') throw new ConnectionEnded();
    const tlsSocket = negotiated.tls;
    const user = startup.parameters.get('user') ?? '';
    const database = requestedDatabase(startup.parameters);
    record.user = user;
    record.database = database;
    record.applicationName = startup.parameters.get('application_name');

    if (env.isShuttingDown()) {
      env.events.connectionRefused('shutting_down');
      refuse(SqlState.CANNOT_CONNECT_NOW, 'the database system is shutting down');
    }
    if (!env.registry.admit(record, settings.max_connections)) {
      env.events.connectionRefused('too_many_connections');
      refuse(SqlState.TOO_MANY_CONNECTIONS, 'sorry, too many clients already');
    }
    const replication = replicationMode(startup.parameters.get('replication'));
    if (replication === undefined) {
      refuse(
        SqlState.INVALID_PARAMETER_VALUE,
        `invalid value for parameter "replication": "${startup.parameters.get('replication')}"`,
        undefined,
        'Valid values are: "false", 0, "true", 1, "database".',
      );
    }
    const forged = settings.client_leg_parameters
      ? findForgedSetting(startup.parameters)
      : undefined;
    if (forged) {
      env.events.connectionRefused('forged_setting');
      log.info(
        { client: record.clientAddress, setting: forged.name },
        'client sent a pgtunnel.* setting itself',
      );
      refuseForgedSetting(forged);
    }
    const decision = generation.access.decide({
      transport,
      address: transport === 'tcp' ? normalizeAddress(socket.remoteAddress) : undefined,
      ssl: tlsSocket !== undefined,
      database,
      user,
      replication,
      clientCertificate: record.tls?.client ?? NO_CLIENT_CERTIFICATE,
    });
    if (!decision.allow) {
      env.events.connectionRefused('access_rule');
      log.info(
        { client: record.clientAddress, user, database, detail: decision.logDetail },
        decision.message,
      );
      refuse(decision.sqlstate, decision.message, decision.detail);
    }

    const adminConsole = adminConsoleLogin(database, user, settings);
    record.state = 'authenticating';
    const packet = serverStartupPacket(negotiated.packet, startup.parameters, record, {
      report: settings.client_leg_parameters,
      database: adminConsole?.authDatabase,
    });
    let upstream: UpstreamSession;
    try {
      upstream = await openFirstUpstreamSession(generation.upstreams, packet, {
        signal: abandon.signal,
      });
    } catch (error) {
      if (abandon.signal.aborted) throw new ConnectionEnded();
      env.events.connectionRefused('upstream_unavailable');
      log.error({ err: describeError(error) }, 'could not connect to the upstream server');
      refuse(
        SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
        `could not connect to the upstream server: ${describeError(error)}`,
        undefined,
        error instanceof UpstreamError ? error.hint : undefined,
      );
    }
    if (socket.destroyed) {
      // The client left (or timed out) while the upstream connection was being opened.
      upstream.socket.destroy();
      throw new ConnectionEnded();
    }
    record.sockets.add(upstream.socket);
    record.upstream = upstream.describe;
    upstream.socket.on('error', () => {});
    if (negotiated.extra.length > 0) upstream.socket.write(negotiated.extra);

    const outcome = await relayStartup(client, upstream.socket, upstream.firstBytes, {
      passThroughAuth: decision.passThroughAuth,
      // SCRAM cannot pass a hop that is TLS on both legs; scram-proxy.ts handles it there.
      scram:
        tlsSocket && upstream.tls
          ? scramProxySetup({
              generation,
              client: tlsSocket,
              upstream: upstream.socket as TLSSocket,
              user,
              log,
              sharedLog: env.logger,
            })
          : undefined,
    });
    if (!outcome.ok) {
      env.events.connectionRefused('authentication_failed');
      log.info({ user, database, reason: outcome.reason }, 'connection not established');
      await endGracefully(client);
      throw new ConnectionEnded();
    }
    clearTimeout(deadline);
    if (adminConsole) {
      await runAdminConsole(client, upstream.socket, record, env, log);
      throw new ConnectionEnded();
    }
    record.state = 'active';
    record.backendPid = outcome.backendKey?.processId;
    env.events.sessionStarted(tlsSocket !== undefined);
    if (settings.log_connections) {
      log.info(
        {
          client: record.clientAddress,
          user,
          database,
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
    if (outcome.remainder.length > 0) client.write(outcome.remainder);
    const started = Date.now();
    await pump(client, upstream.socket);
    if (settings.log_disconnections) {
      log.info(
        {
          user,
          database,
          durationMs: Date.now() - started,
          bytesFromClient: upstream.socket.bytesWritten,
          bytesToClient: upstream.socket.bytesRead,
        },
        'disconnection',
      );
    }
    env.events.sessionEnded(upstream.socket.bytesWritten, upstream.socket.bytesRead);
  } catch (error) {
    if (error instanceof StartupPacketError) {
      env.events.connectionRefused('protocol_violation');
      log.info({ client: record.clientAddress }, error.message);
      await endGracefully(current.stream, fatal(error.sqlstate, error.message));
    } else if (error instanceof Refusal) {
      await endGracefully(current.stream, error.reply);
    } else if (!(error instanceof ConnectionEnded) && !(error instanceof IncompletePacketError)) {
      log.info({ client: record.clientAddress, err: describeError(error) }, 'connection closed');
    }
  } finally {
    clearTimeout(deadline);
    env.registry.close(record);
  }
}

async function forwardCancel(
  targets: readonly UpstreamTarget[],
  processId: number,
  secretKey: Buffer,
  log: Logger,
) {
  try {
    await sendCancelToEach(targets, processId, secretKey);
    log.debug({ processId }, 'cancel request forwarded');
  } catch (error) {
    log.warn({ err: describeError(error) }, 'could not forward a cancel request');
  }
}

/** IPv4-mapped IPv6 (::ffff:127.0.0.1) is reported as the IPv4 address, as PostgreSQL does. */
function normalizeAddress(address: string | undefined): string | undefined {
  if (address?.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  return address;
}
