// Opens a session to an upstream PostgreSQL server the way libpq would for the same settings:
// every address of the host in turn (addresses.ts), SSLRequest or direct TLS per sslmode
// (transport.ts), libpq's allow/prefer fallbacks (attempts.ts), then the client's
// StartupMessage. Used by `pgtunnel connect` and the gateway.

import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { formatSocketAddress, type SocketAddress } from '../net/address.js';
import { decodeErrorFields } from '../protocol/backend-error.js';
import { BackendMessage } from '../protocol/codes.js';
import { combineFailures, connectionOrder, eachAddress } from './addresses.js';
import {
  type Attempt,
  type AttemptEvent,
  awaitsFirstReply,
  firstAttempt,
  nextAttempt,
} from './attempts.js';
import { systemErrorText } from './libpq-messages.js';
import { SSLMODE_RULES } from './sslmode.js';
import {
  openAttempt,
  openTransport,
  readFromServer,
  sslRefusedError,
  TlsStageFailure,
  type Transport,
  writeAll,
} from './transport.js';
import { UpstreamError } from './upstream-error.js';
import type { UpstreamTarget } from './upstream-target.js';
import type { TlsEnvironment } from './upstream-tls.js';

export type { UpstreamTarget } from './upstream-target.js';
export { targetsFromConnInfo } from './upstream-target.js';

/** A connected, negotiated upstream session, ready for the caller to pump bytes. */
export interface UpstreamSession {
  /** A TLSSocket when `tls` is true; the StartupMessage has been written; paused. */
  socket: Socket;
  tls: boolean;
  /**
   * Bytes already read from the server (its first message when a fallback decision needed
   * it); the caller must handle these before reading more.
   */
  firstBytes: Buffer;
  /** For logs, e.g. "127.0.0.1:5432 (TLSv1.3)". */
  describe: string;
  /** The target (of several hosts, the one) this session is connected to. */
  target: UpstreamTarget;
}

export interface UpstreamSessionOptions {
  /** Cancels the attempt; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Where ~/.postgresql and the system CA store are looked up (tests). */
  tlsEnvironment?: TlsEnvironment | undefined;
  /**
   * Bytes written first on every TCP connection to the server, before any PostgreSQL packet:
   * the gateway's PROXY protocol header (upstream_proxy_protocol).
   */
  preamble?: Buffer | undefined;
  /**
   * A plaintext connection to the server reads into the process's shared read buffer
   * (src/net/shared-read-buffer.ts): for a relay that hands the server's bytes to TLS.
   */
  sharedReadBuffer?: boolean | undefined;
}

function messageComplete(received: Buffer): boolean {
  return received.length >= 5 && received.length >= 1 + received.readUInt32BE(1);
}

/** An ErrorResponse as libpq shows it: "FATAL:  message", then DETAIL/HINT lines. */
function describeServerError(message: Buffer): string {
  const fields = decodeErrorFields(message.subarray(5));
  let text = `${fields.get('S') ?? 'ERROR'}:  ${fields.get('M') ?? ''}`;
  if (fields.get('D')) text += `\nDETAIL:  ${fields.get('D')}`;
  if (fields.get('H')) text += `\nHINT:  ${fields.get('H')}`;
  return text;
}

/** One address: the sslmode's first method, then what nextAttempt allows, as libpq does. */
async function openOnAddress(
  target: UpstreamTarget,
  address: SocketAddress,
  startupPacket: Buffer,
  signal: AbortSignal,
  earlier: string[],
  prefix: string,
  options: UpstreamSessionOptions,
): Promise<UpstreamSession> {
  const rule = SSLMODE_RULES[target.sslmode];
  let attempt: Attempt = firstAttempt(rule, address.kind === 'unix');
  // Each pass is one connection; a `retry` decision closes it and opens the next.
  for (;;) {
    const opened = await openAttempt(target, address, attempt, signal, options, (reason) =>
      earlier.push(prefix + reason),
    );
    attempt = opened.attempt;
    const { transport } = opened;
    const { socket } = transport;
    try {
      try {
        await writeAll(socket, startupPacket);
      } catch (error) {
        throw new UpstreamError(
          'ERR_UPSTREAM_CONNECT',
          `could not send startup packet: ${systemErrorText(error)}`,
          { cause: error },
        );
      }
      let firstBytes: Buffer = Buffer.alloc(0);
      if (awaitsFirstReply(attempt)) {
        firstBytes = await readFromServer(socket, messageComplete, signal);
        const event: AttemptEvent =
          firstBytes[0] === BackendMessage.ErrorResponse ? 'error-response' : 'ok';
        const decision = nextAttempt(rule, attempt, event);
        if (decision.kind === 'retry') {
          // libpq retries with the other method when the server rejects the first one.
          earlier.push(prefix + describeServerError(firstBytes));
          socket.destroy();
          attempt = decision.attempt;
          continue;
        }
      }
      const protocol = transport.tls ? (socket as TLSSocket).getProtocol() : null;
      return {
        socket,
        tls: transport.tls,
        firstBytes,
        describe: `${formatSocketAddress(address)} (${protocol ?? 'plaintext'})`,
        target,
      };
    } catch (error) {
      socket.destroy();
      throw error;
    }
  }
}

/**
 * Connects, negotiates TLS per sslmode and sends `startupPacket` (the raw bytes of the client's
 * StartupMessage). For allow/prefer it applies libpq's fallback: `allow` tries plaintext first
 * and retries with TLS if the server's first reply is an ErrorResponse; `prefer` goes on in
 * plaintext after 'N' and retries without TLS if the TLS handshake (or its checks) fail or the
 * first reply over TLS is an ErrorResponse. Tries each address of the host in turn.
 *
 * Rejects with UpstreamError (ERR_UPSTREAM_CONNECT, ERR_UPSTREAM_TLS, ERR_UPSTREAM_SSL_REFUSED)
 * whose message is libpq's, or with the signal's reason when aborted.
 */
export function openUpstreamSession(
  target: UpstreamTarget,
  startupPacket: Buffer,
  options: UpstreamSessionOptions = {},
): Promise<UpstreamSession> {
  return eachAddress(target, { signal: options.signal }, ({ address, signal, earlier, prefix }) =>
    openOnAddress(target, address, startupPacket, signal, earlier, prefix, options),
  );
}

/**
 * libpq's multi-host behaviour: tries each target in order (shuffled with
 * load_balance_hosts=random) and returns the first session; if all fail, the error lists
 * every failure, as libpq's message does.
 */
export async function openFirstUpstreamSession(
  targets: readonly UpstreamTarget[],
  startupPacket: Buffer,
  options: UpstreamSessionOptions = {},
): Promise<UpstreamSession> {
  const failures: UpstreamError[] = [];
  for (const target of connectionOrder(targets)) {
    try {
      return await openUpstreamSession(target, startupPacket, options);
    } catch (error) {
      if (options.signal?.aborted || !(error instanceof UpstreamError)) throw error;
      failures.push(error);
    }
  }
  throw combineFailures(failures);
}

/** How long a probe waits per address when the target sets no timeout. */
const PROBE_TIMEOUT_MS = 10_000;

/**
 * Connects to `target` as libpq would and negotiates TLS (SSLRequest or direct, the sslmode's
 * verification), then stops before any StartupMessage: a credential-less check that the
 * server answers TLS with an acceptable certificate. Tries each address; resolves with the
 * first TLS socket (paused; the caller closes it) and the address it reached.
 */
export function openTlsTransport(
  target: UpstreamTarget,
  options: UpstreamSessionOptions = {},
): Promise<{ socket: TLSSocket; address: string }> {
  const timeoutMs = target.connectTimeoutMs ?? PROBE_TIMEOUT_MS;
  return eachAddress(target, { signal: options.signal, timeoutMs }, async ({ address, signal }) => {
    let transport: Transport;
    try {
      transport = await openTransport(target, address, 'tls', signal, options.tlsEnvironment);
    } catch (error) {
      throw error instanceof TlsStageFailure ? error.failure : error;
    }
    if (!transport.tls) {
      transport.socket.destroy();
      throw sslRefusedError();
    }
    return { socket: transport.socket as TLSSocket, address: formatSocketAddress(address) };
  });
}
