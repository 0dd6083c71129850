// One local client of `pgtunnel connect`, as a small state machine: read its first packet
// (answering SSLRequest/GSSENCRequest with 'N', or with TLS when the tunnel serves it), pass
// a CancelRequest on, or open the upstream session with libpq semantics and pump bytes. Any
// upstream failure reaches the client as a FATAL ErrorResponse, never as a bare close.
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type SecureContext, TLSSocket } from 'node:tls';
import { describeError } from '../errors.js';
import { sendCancelToEach } from '../libpq/cancel.js';
import { UpstreamError } from '../libpq/upstream-error.js';
import { openFirstUpstreamSession, type UpstreamSession } from '../libpq/upstream-session.js';
import type { UpstreamTarget } from '../libpq/upstream-target.js';
import type { TlsEnvironment } from '../libpq/upstream-tls.js';
import type { Logger } from '../log.js';
import { type PumpResult, pump } from '../net/pump.js';
import { fatal } from '../protocol/backend-error.js';
import { ALPN_POSTGRESQL, SqlState } from '../protocol/codes.js';
import { negotiateStartup } from '../startup/negotiate-startup.js';
import { endWithReply } from '../startup/refusal.js';

/** What every connection of one tunnel shares. */
export interface LocalTunnelContext {
  /** The tunnel's name, for logs and error details. */
  name: string;
  /** Servers to try, in order (libpq's multi-host list). */
  targets: readonly UpstreamTarget[];
  /** When set, local clients asking for TLS (SSLRequest or direct TLS) get it. */
  localTls?: SecureContext | undefined;
  logger: Logger;
  /** Time a client has to send its startup packet; default 60 s (authentication_timeout). */
  startupTimeoutMs?: number;
  /** Close sessions with no traffic for this long; default none. */
  idleTimeoutMs?: number | undefined;
  tlsEnvironment?: TlsEnvironment;
}

/** Named steps of a local connection, for logs. */
export type LocalStep =
  | 'awaiting-first-packet'
  | 'tls-handshake'
  | 'connecting-upstream'
  | 'relaying'
  | 'closed';

function startServerTls(stream: Duplex, context: SecureContext, signal: AbortSignal) {
  return new Promise<TLSSocket>((resolve, reject) => {
    const tlsSocket = new TLSSocket(stream, {
      isServer: true,
      secureContext: context,
      ALPNProtocols: [ALPN_POSTGRESQL],
    });
    const cleanup = () => {
      tlsSocket.off('secure', onSecure);
      tlsSocket.off('error', onError);
      tlsSocket.off('end', onLeft);
      tlsSocket.off('close', onLeft);
      signal.removeEventListener('abort', onAbort);
    };
    const onSecure = () => {
      cleanup();
      tlsSocket.pause();
      resolve(tlsSocket);
    };
    const onError = (error: Error) => {
      cleanup();
      tlsSocket.destroy();
      reject(error);
    };
    const onAbort = () => onError(signal.reason as Error);
    // A client that leaves mid-handshake sends no alert, so no 'error' comes: only the end.
    const onLeft = () =>
      onError(new Error('the client closed the connection during the TLS handshake'));
    tlsSocket.once('secure', onSecure);
    tlsSocket.once('error', onError);
    tlsSocket.once('end', onLeft);
    tlsSocket.once('close', onLeft);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Serves one local client until its session ends. Resolves (never rejects) when both sides
 * are closed; returns the pump's result when a session was relayed.
 */
export async function handleLocalConnection(
  client: Duplex,
  context: LocalTunnelContext,
  connectionId: number,
  peer: string,
  track?: (upstream: Duplex) => void,
): Promise<PumpResult | undefined> {
  const log = context.logger.child({ tunnel: context.name, conn: connectionId, client: peer });
  let step: LocalStep = 'awaiting-first-packet';
  client.on('error', (error) => log.debug({ err: describeError(error), step }, 'client error'));
  const startup = new AbortController();
  const timer = setTimeout(
    () => startup.abort(new Error('startup timeout')),
    context.startupTimeoutMs ?? 60_000,
  );
  timer.unref();
  // As PostgreSQL, no TLS over a unix socket (a socket without a remote address).
  const localTls = isUnixSocket(client) ? undefined : context.localTls;
  const outcome = await negotiateStartup(client, {
    tlsAvailable: localTls !== undefined,
    ...(localTls
      ? {
          startTls: (raw: Duplex) => {
            step = 'tls-handshake';
            return startServerTls(raw, localTls, startup.signal);
          },
        }
      : {}),
    signal: startup.signal,
  });
  clearTimeout(timer);
  if (outcome.kind === 'refused') {
    step = 'closed';
    log.info({ reason: outcome.message }, 'refused client');
    return undefined;
  }
  if (outcome.kind === 'closed') {
    // timeout, EOF or a failed TLS handshake: PostgreSQL just closes, and so do we
    step = 'closed';
    log.debug(
      { reason: outcome.message, ...(outcome.error ? { err: describeError(outcome.error) } : {}) },
      'client left before sending a startup packet',
    );
    return undefined;
  }
  const stream = outcome.stream;
  if (outcome.kind === 'cancel') {
    await forwardCancel(context, outcome.processId, outcome.secretKey, log);
    stream.destroy();
    step = 'closed';
    return undefined;
  }
  const pending = { packet: outcome.packet, rest: outcome.rest };

  step = 'connecting-upstream';
  clearTimeout(timer);
  let session: UpstreamSession;
  try {
    session = await openFirstUpstreamSession(context.targets, pending.packet, {
      tlsEnvironment: context.tlsEnvironment,
    });
  } catch (error) {
    step = 'closed';
    const upstreamError =
      error instanceof UpstreamError
        ? error
        : new UpstreamError('ERR_UPSTREAM_CONNECT', describeError(error), { cause: error });
    log.warn(
      { err: upstreamError.message, code: upstreamError.code },
      'upstream connection failed',
    );
    await endWithReply(
      stream,
      fatal(SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION, upstreamError.message, {
        ...(upstreamError.hint ? { hint: upstreamError.hint } : {}),
        detail: `pgtunnel could not open the upstream connection for tunnel "${context.name}".`,
      }),
    );
    return undefined;
  }

  step = 'relaying';
  log.info({ upstream: session.describe, tls: session.tls }, 'session started');
  track?.(session.socket);
  const started = Date.now();
  if (session.firstBytes.length > 0) stream.write(session.firstBytes);
  if (pending.rest.length > 0) session.socket.write(pending.rest);
  const result = await pump(stream, session.socket, {
    ...(context.idleTimeoutMs ? { idleTimeoutMs: context.idleTimeoutMs } : {}),
  });
  step = 'closed';
  log.info(
    {
      upstream: session.describe,
      durationMs: Date.now() - started,
      bytesFromClient: result.bytesAtoB,
      bytesToClient: result.bytesBtoA + session.firstBytes.length,
      outcome: result.outcome,
      ...(result.error ? { err: describeError(result.error) } : {}),
    },
    'session ended',
  );
  return result;
}

async function forwardCancel(
  context: LocalTunnelContext,
  processId: number,
  secretKey: Buffer,
  log: Logger,
): Promise<void> {
  try {
    await sendCancelToEach(context.targets, processId, secretKey, {
      tlsEnvironment: context.tlsEnvironment,
    });
    log.info({ processId }, 'forwarded cancel request');
  } catch (error) {
    log.warn({ err: describeError(error) }, 'could not forward cancel request');
  }
}

function isUnixSocket(stream: Duplex): boolean {
  return stream instanceof Socket && stream.remoteAddress === undefined && !stream.destroyed;
}
