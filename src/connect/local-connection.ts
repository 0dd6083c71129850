// One local client of `pgtunnel connect`, as a small state machine: read its first packet
// (answering SSLRequest/GSSENCRequest with 'N', or with TLS when the tunnel serves it), pass
// a CancelRequest on, or open the upstream session with libpq semantics and pump bytes. Any
// upstream failure reaches the client as a FATAL ErrorResponse, never as a bare close.
import type { Duplex } from 'node:stream';
import { type SecureContext, TLSSocket } from 'node:tls';
import { describeError } from '../errors.js';
import { UpstreamError } from '../libpq/upstream-error.js';
import {
  openFirstUpstreamSession,
  sendCancelToEach,
  type UpstreamSession,
} from '../libpq/upstream-session.js';
import type { UpstreamTarget } from '../libpq/upstream-target.js';
import type { TlsEnvironment } from '../libpq/upstream-tls.js';
import type { Logger } from '../log.js';
import { type PumpResult, pump } from '../net/pump.js';
import { readUntil } from '../net/read-bytes.js';
import { readStartupPacket } from '../net/read-startup-packet.js';
import { fatal } from '../protocol/backend-error.js';
import {
  ALPN_POSTGRESQL,
  SqlState,
  type SqlStateCode,
  TLS_HANDSHAKE_RECORD,
} from '../protocol/codes.js';
import { StartupPacketError } from '../protocol/startup-packet.js';

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

class ClientProtocolError extends Error {
  constructor(
    readonly sqlstate: SqlStateCode,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
  }
}

const MITM_DETAIL =
  'This could be either a client-software bug or evidence of an attempted man-in-the-middle attack.';

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
    tlsSocket.once('secure', onSecure);
    tlsSocket.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Writes `data` then ends the stream, destroying it if the client does not take it. */
function endWith(stream: Duplex, data: Buffer): void {
  if (stream.destroyed || stream.writableEnded) {
    stream.destroy();
    return;
  }
  stream.end(data);
  const timer = setTimeout(() => stream.destroy(), 5000);
  timer.unref();
  stream.once('close', () => clearTimeout(timer));
  stream.once('finish', () => {
    // the client has everything; drop whatever it still sends
    stream.resume();
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
  let stream: Duplex = client;
  client.on('error', (error) => log.debug({ err: describeError(error), step }, 'client error'));
  const startup = new AbortController();
  const timer = setTimeout(
    () => startup.abort(new Error('startup timeout')),
    context.startupTimeoutMs ?? 60_000,
  );
  timer.unref();
  let sslDone = false;
  let gssDone = false;
  let pending: { packet: Buffer; rest: Buffer } | undefined;

  try {
    // Direct TLS (PostgreSQL 17+ clients with sslnegotiation=direct): the first byte is a
    // TLS handshake record rather than a packet length.
    if (context.localTls) {
      const first = await readUntil(stream, (b) => b.length >= 1, startup.signal);
      stream.unshift(first);
      if (first[0] === TLS_HANDSHAKE_RECORD) {
        step = 'tls-handshake';
        stream = await startServerTls(stream, context.localTls, startup.signal);
        sslDone = true;
        step = 'awaiting-first-packet';
      }
    }
    for (;;) {
      const { packet, rest, decoded } = await readStartupPacket(stream, startup.signal);
      if (decoded.kind === 'ssl-request' || decoded.kind === 'gssenc-request') {
        const done = decoded.kind === 'ssl-request' ? sslDone : gssDone;
        if (done) {
          throw new ClientProtocolError(
            SqlState.PROTOCOL_VIOLATION,
            `duplicate ${decoded.kind === 'ssl-request' ? 'SSL' : 'GSSAPI'} request`,
          );
        }
        // Anything sent before our answer was not protected by what the client asked for.
        if (rest.length > 0) {
          throw new ClientProtocolError(
            SqlState.PROTOCOL_VIOLATION,
            `received unencrypted data after ${decoded.kind === 'ssl-request' ? 'SSL' : 'GSSAPI encryption'} request`,
            MITM_DETAIL,
          );
        }
        if (decoded.kind === 'ssl-request') {
          sslDone = true;
          if (context.localTls) {
            stream.write('S');
            step = 'tls-handshake';
            stream = await startServerTls(stream, context.localTls, startup.signal);
            step = 'awaiting-first-packet';
          } else {
            stream.write('N');
          }
        } else {
          gssDone = true;
          stream.write('N');
        }
        continue;
      }
      if (decoded.kind === 'cancel') {
        clearTimeout(timer);
        await forwardCancel(context, decoded.processId, decoded.secretKey, log);
        stream.destroy();
        step = 'closed';
        return undefined;
      }
      pending = { packet, rest };
      break;
    }
  } catch (error) {
    clearTimeout(timer);
    step = 'closed';
    if (error instanceof ClientProtocolError) {
      log.info({ reason: error.message }, 'refused client');
      endWith(stream, fatal(error.sqlstate, error.message, detailOf(error.detail)));
    } else if (error instanceof StartupPacketError) {
      log.info({ reason: error.message }, 'refused client');
      endWith(stream, fatal(error.sqlstate, error.message));
    } else {
      // timeout, EOF or a failed TLS handshake: PostgreSQL just closes, and so do we
      log.debug({ err: describeError(error) }, 'client left before sending a startup packet');
      stream.destroy();
    }
    return undefined;
  }

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
    endWith(
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

function detailOf(detail: string | undefined): { detail?: string } {
  return detail ? { detail } : {};
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
