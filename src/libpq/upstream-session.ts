// Opens a session to an upstream PostgreSQL server the way libpq would for the same settings:
// every address of the host in turn, SSLRequest or direct TLS per sslmode, libpq's allow/prefer
// fallbacks, then the client's StartupMessage. Used by `pgtunnel connect` and the gateway.
import { lookup } from 'node:dns/promises';
import { isIP, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { formatSocketAddress, postgresSocketPath, type SocketAddress } from '../net/address.js';
import { dial } from '../net/dial.js';
import { readUntil, StreamEndedError } from '../net/read-bytes.js';
import { decodeErrorFields } from '../protocol/backend-error.js';
import { BackendMessage } from '../protocol/codes.js';
import { encodeCancelRequest, encodeSslRequest } from '../protocol/frontend.js';
import {
  connectFailureHint,
  hostLookupFailure,
  SERVER_CLOSED_UNEXPECTEDLY,
  serverPrefix,
  systemErrorText,
} from './libpq-messages.js';
import { SSLMODE_RULES } from './sslmode.js';
import { UpstreamError } from './upstream-error.js';
import type { UpstreamTarget } from './upstream-target.js';
import { prepareUpstreamTls, startUpstreamTls, type TlsEnvironment } from './upstream-tls.js';

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
  tlsEnvironment?: TlsEnvironment;
  /**
   * Bytes written first on every TCP connection to the server, before any PostgreSQL packet:
   * the gateway's PROXY protocol header (upstream_proxy_protocol).
   */
  preamble?: Buffer | undefined;
}

/** Thrown inside one attempt when the TLS stage failed and libpq's rules allow a fallback. */
class TlsStageFailure extends Error {
  constructor(readonly failure: UpstreamError) {
    super(failure.message);
  }
}

type Method = 'plaintext' | 'tls';

/** A shuffled copy (Fisher-Yates), as libpq's load_balance_hosts=random orders hosts. */
function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

/** The order to try a tunnel's servers in: as written, or random with load_balance_hosts. */
export function connectionOrder(targets: readonly UpstreamTarget[]): readonly UpstreamTarget[] {
  return targets[0]?.loadBalanceHosts ? shuffled(targets) : targets;
}

/** Addresses to try for a target, in libpq's order (getaddrinfo's order for names). */
async function resolveAddresses(
  target: UpstreamTarget,
  signal: AbortSignal | undefined,
): Promise<SocketAddress[]> {
  if (!target.hostaddr && (target.host.startsWith('/') || target.host.startsWith('@'))) {
    const path = postgresSocketPath(target.host, target.port);
    return [{ kind: 'unix', path: path.startsWith('@') ? `\0${path.slice(1)}` : path }];
  }
  if (target.hostaddr) {
    if (isIP(target.hostaddr) === 0) {
      throw new UpstreamError(
        'ERR_UPSTREAM_CONNECT',
        `could not parse network address "${target.hostaddr}": Name or service not known`,
      );
    }
    return [{ kind: 'tcp', host: target.hostaddr, port: target.port }];
  }
  if (isIP(target.host) !== 0) return [{ kind: 'tcp', host: target.host, port: target.port }];
  try {
    signal?.throwIfAborted();
    const found = await lookup(target.host, { all: true, verbatim: true });
    signal?.throwIfAborted();
    const addresses = found.map(
      (entry): SocketAddress => ({ kind: 'tcp', host: entry.address, port: target.port }),
    );
    return target.loadBalanceHosts ? shuffled(addresses) : addresses;
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw new UpstreamError('ERR_UPSTREAM_CONNECT', hostLookupFailure(target.host, error), {
      cause: error,
    });
  }
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

function writeAll(socket: Socket, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.write(data, (error) => (error ? reject(error) : resolve()));
  });
}

interface Connected {
  socket: Socket;
  tls: boolean;
  /** The server answered SSLRequest with 'N' and the mode let us go on in plaintext. */
  refused: boolean;
}

/** Opens the TCP or unix connection, with libpq's words and hint when that fails. */
async function dialAddress(
  target: UpstreamTarget,
  address: SocketAddress,
  signal: AbortSignal,
): Promise<Socket> {
  try {
    return await dial(address, {
      signal,
      keepAlive: target.keepalives !== false,
      keepAliveInitialDelayMs: (target.keepalivesIdleSeconds ?? 0) * 1000,
    });
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw new UpstreamError('ERR_UPSTREAM_CONNECT', systemErrorText(error), {
      hint: connectFailureHint(address),
      cause: error,
    });
  }
}

/** Dials one address and sets up the transport for `method` (SSLRequest or direct TLS). */
async function connectTransport(
  target: UpstreamTarget,
  address: SocketAddress,
  method: Method,
  signal: AbortSignal,
  options: Pick<UpstreamSessionOptions, 'tlsEnvironment' | 'preamble'>,
): Promise<Connected> {
  const socket = await dialAddress(target, address, signal);
  if (options.preamble && address.kind === 'tcp') {
    try {
      await writeAll(socket, options.preamble);
    } catch (error) {
      socket.destroy();
      throw new UpstreamError(
        'ERR_UPSTREAM_CONNECT',
        `could not send PROXY protocol header: ${systemErrorText(error)}`,
        { cause: error },
      );
    }
  }
  if (method === 'plaintext') return { socket, tls: false, refused: false };

  const rule = SSLMODE_RULES[target.sslmode];
  const direct = target.sslnegotiation === 'direct';
  try {
    if (!direct) {
      try {
        await writeAll(socket, encodeSslRequest());
      } catch (error) {
        throw new UpstreamError(
          'ERR_UPSTREAM_CONNECT',
          `could not send SSL negotiation packet: ${systemErrorText(error)}`,
          { cause: error },
        );
      }
      const reply = await readUntil(socket, (received) => received.length >= 1, signal).catch(
        (error: unknown) => {
          if (signal.aborted) throw signal.reason;
          throw new UpstreamError(
            'ERR_UPSTREAM_CONNECT',
            error instanceof StreamEndedError
              ? SERVER_CLOSED_UNEXPECTEDLY
              : `could not receive data from server: ${systemErrorText(error)}`,
            { cause: error },
          );
        },
      );
      const answer = String.fromCharCode(reply[0] ?? 0);
      if (answer === 'N') {
        if (rule.onRefused === 'continue-plaintext') return { socket, tls: false, refused: true };
        throw new UpstreamError(
          'ERR_UPSTREAM_SSL_REFUSED',
          'server does not support SSL, but SSL was required',
        );
      }
      if (answer === 'E') {
        // The server is not authenticated yet: its message is not to be trusted or shown.
        throw new UpstreamError(
          'ERR_UPSTREAM_TLS',
          'server sent an error response during SSL exchange',
        );
      }
      if (answer !== 'S') {
        throw new UpstreamError(
          'ERR_UPSTREAM_TLS',
          `received invalid response to SSL negotiation: ${answer}`,
        );
      }
      if (reply.length > 1) {
        // Bytes injected before the handshake (CVE-2021-23222) must not be trusted.
        throw new UpstreamError('ERR_UPSTREAM_TLS', 'received unencrypted data after SSL response');
      }
    }
    let tlsSocket: TLSSocket;
    try {
      const setup = prepareUpstreamTls(target, options.tlsEnvironment);
      tlsSocket = await startUpstreamTls(socket, target, setup, signal);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (error instanceof UpstreamError) throw new TlsStageFailure(error);
      throw error;
    }
    return { socket: tlsSocket, tls: true, refused: false };
  } catch (error) {
    socket.destroy();
    throw error;
  }
}

function withPrefix(prefix: string, error: UpstreamError, earlier: string[]): UpstreamError {
  const lines = [...earlier, prefix + error.reason];
  return new UpstreamError(error.code, lines.join('\n'), {
    reason: error.reason,
    hint: error.hint,
    cause: error.cause ?? error,
  });
}

function timeoutError(): UpstreamError {
  return new UpstreamError('ERR_UPSTREAM_CONNECT', 'timeout expired');
}

/** Runs `work` under the caller's signal plus the target's per-address connect timeout. */
async function withDeadline<T>(
  target: UpstreamTarget,
  outer: AbortSignal | undefined,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const timer = target.connectTimeoutMs
    ? setTimeout(() => controller.abort(timeoutError()), target.connectTimeoutMs)
    : undefined;
  const onOuterAbort = () => controller.abort(outer?.reason);
  if (outer?.aborted) onOuterAbort();
  outer?.addEventListener('abort', onOuterAbort, { once: true });
  try {
    return await work(controller.signal);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuterAbort);
  }
}

/** One address: the sslmode's first method, then at most one fallback, as libpq does. */
async function openOnAddress(
  target: UpstreamTarget,
  address: SocketAddress,
  startupPacket: Buffer,
  options: UpstreamSessionOptions,
): Promise<UpstreamSession> {
  const prefix = serverPrefix(address, { host: target.host, hostaddrGiven: !!target.hostaddr });
  const rule = SSLMODE_RULES[target.sslmode];
  // libpq never negotiates TLS over a unix socket, whatever the sslmode.
  const isUnix = address.kind === 'unix';
  let method: Method = isUnix ? 'plaintext' : rule.first;
  let canFallBack = !isUnix && rule.fallback !== undefined;
  const earlier: string[] = [];

  return withDeadline(target, options.signal, async (signal) => {
    for (;;) {
      let connected: Connected;
      try {
        connected = await connectTransport(target, address, method, signal, options);
      } catch (error) {
        if (error === signal.reason && options.signal?.aborted) throw error;
        if (error instanceof TlsStageFailure && canFallBack && rule.fallback) {
          earlier.push(prefix + error.failure.reason);
          method = rule.fallback;
          canFallBack = false;
          continue;
        }
        const failure = error instanceof TlsStageFailure ? error.failure : error;
        if (failure instanceof UpstreamError) throw withPrefix(prefix, failure, earlier);
        throw failure;
      }
      const { socket } = connected;
      // After 'N' the plaintext path is all that is left: nothing to fall back to.
      if (connected.refused) canFallBack = false;
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
        if (canFallBack && rule.fallback) {
          firstBytes = await readUntil(socket, messageComplete, signal).catch((error: unknown) => {
            if (signal.aborted) throw signal.reason;
            throw new UpstreamError(
              'ERR_UPSTREAM_CONNECT',
              error instanceof StreamEndedError
                ? SERVER_CLOSED_UNEXPECTEDLY
                : `could not receive data from server: ${systemErrorText(error)}`,
              { cause: error },
            );
          });
          if (firstBytes[0] === BackendMessage.ErrorResponse) {
            // libpq retries with the other method when the server rejects the first one.
            earlier.push(prefix + describeServerError(firstBytes));
            socket.destroy();
            method = rule.fallback;
            canFallBack = false;
            continue;
          }
        }
        const protocol = connected.tls ? (socket as TLSSocket).getProtocol() : null;
        return {
          socket,
          tls: connected.tls,
          firstBytes,
          describe: `${formatSocketAddress(address)} (${protocol ?? 'plaintext'})`,
          target,
        };
      } catch (error) {
        socket.destroy();
        if (signal.aborted && error === signal.reason) {
          if (options.signal?.aborted) throw error;
        }
        if (error instanceof UpstreamError) throw withPrefix(prefix, error, earlier);
        throw error;
      }
    }
  }).catch((error: unknown) => {
    // the per-address deadline surfaces as libpq's "timeout expired" with the prefix
    if (error instanceof UpstreamError && error.message === 'timeout expired') {
      throw withPrefix(prefix, error, earlier);
    }
    throw error;
  });
}

function combine(failures: UpstreamError[]): UpstreamError {
  const last = failures[failures.length - 1];
  if (!last) return new UpstreamError('ERR_UPSTREAM_CONNECT', 'no server to connect to');
  if (failures.length === 1) return last;
  return new UpstreamError(last.code, failures.map((f) => f.message).join('\n'), {
    reason: last.reason,
    hint: last.hint,
    cause: last,
  });
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
export async function openUpstreamSession(
  target: UpstreamTarget,
  startupPacket: Buffer,
  options: UpstreamSessionOptions = {},
): Promise<UpstreamSession> {
  const addresses = await resolveAddresses(target, options.signal);
  const failures: UpstreamError[] = [];
  for (const address of addresses) {
    try {
      return await openOnAddress(target, address, startupPacket, options);
    } catch (error) {
      if (options.signal?.aborted || !(error instanceof UpstreamError)) throw error;
      failures.push(error);
    }
  }
  throw combine(failures);
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
  throw combine(failures);
}

/**
 * A cancel key belongs to one server of a multi-host list, which is not tracked without parsing
 * the session (and may be another worker's), so the request goes to each: a server ignores a
 * key it did not issue. Rejects only when no server took it, with every failure in the message.
 */
export async function sendCancelToEach(
  targets: readonly UpstreamTarget[],
  processId: number,
  secretKey: Buffer,
  options: UpstreamSessionOptions = {},
): Promise<void> {
  const results = await Promise.allSettled(
    targets.map((target) => sendCancelRequest(target, processId, secretKey, options)),
  );
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
  if (failures.length < results.length) return;
  throw new UpstreamError(
    'ERR_UPSTREAM_CONNECT',
    failures
      .map((failure) => (failure instanceof Error ? failure.message : String(failure)))
      .join('; '),
  );
}

/** How long a cancel waits for the server to close when the target sets no timeout. */
const CANCEL_TIMEOUT_MS = 10_000;

/**
 * Sends a CancelRequest to the target (over TLS when the sslmode asks for it; PostgreSQL
 * accepts it either way) and waits for the server to close the connection.
 */
export async function sendCancelRequest(
  target: UpstreamTarget,
  processId: number,
  secretKey: Buffer,
  options: UpstreamSessionOptions = {},
): Promise<void> {
  const packet = encodeCancelRequest(processId, secretKey);
  const addresses = await resolveAddresses(target, options.signal);
  const rule = SSLMODE_RULES[target.sslmode];
  const failures: UpstreamError[] = [];
  const bounded = { ...target, connectTimeoutMs: target.connectTimeoutMs ?? CANCEL_TIMEOUT_MS };
  for (const address of addresses) {
    const prefix = serverPrefix(address, { host: target.host, hostaddrGiven: !!target.hostaddr });
    try {
      await withDeadline(bounded, options.signal, async (signal) => {
        // allow starts in plaintext; a cancel has no reply to judge a fallback by
        let method: Method =
          address.kind === 'unix' || rule.first === 'plaintext' ? 'plaintext' : 'tls';
        let connected: Connected;
        try {
          connected = await connectTransport(target, address, method, signal, options);
        } catch (error) {
          if (!(error instanceof TlsStageFailure) || rule.fallback !== 'plaintext') {
            throw error instanceof TlsStageFailure ? error.failure : error;
          }
          method = 'plaintext';
          connected = await connectTransport(target, address, method, signal, options);
        }
        const { socket } = connected;
        try {
          await writeAll(socket, packet);
          // PostgreSQL closes the connection once it has processed the request.
          await readUntil(socket, () => false, signal).catch((error: unknown) => {
            if (error instanceof StreamEndedError) return Buffer.alloc(0);
            throw error;
          });
        } finally {
          socket.destroy();
        }
      });
      return;
    } catch (error) {
      if (options.signal?.aborted) throw error;
      const failure =
        error instanceof UpstreamError
          ? error
          : new UpstreamError('ERR_UPSTREAM_CONNECT', systemErrorText(error), { cause: error });
      failures.push(withPrefix(prefix, failure, []));
    }
  }
  throw combine(failures);
}

/** A TLS connection opened without any PostgreSQL negotiation (raw, stunnel-compatible mode). */
export interface RawTlsConnection {
  socket: TLSSocket;
  /** For logs, e.g. "127.0.0.1:5432 (TLSv1.3)". */
  describe: string;
}

/**
 * Raw mode (as stunnel's client mode): TLS from the first byte, no SSLRequest and no ALPN,
 * with the sslmode's certificate checks (require, verify-ca or verify-full). Tries each
 * address of the host in turn; rejects with UpstreamError.
 */
export async function openRawTlsConnection(
  target: UpstreamTarget,
  options: UpstreamSessionOptions = {},
): Promise<RawTlsConnection> {
  const addresses = await resolveAddresses(target, options.signal);
  const failures: UpstreamError[] = [];
  for (const address of addresses) {
    const prefix = serverPrefix(address, { host: target.host, hostaddrGiven: !!target.hostaddr });
    try {
      return await withDeadline(target, options.signal, async (signal) => {
        const socket = await dialAddress(target, address, signal);
        try {
          const setup = prepareUpstreamTls(target, options.tlsEnvironment, { alpn: false });
          const tlsSocket = await startUpstreamTls(socket, target, setup, signal);
          return {
            socket: tlsSocket,
            describe: `${formatSocketAddress(address)} (${tlsSocket.getProtocol() ?? 'TLS'})`,
          };
        } catch (error) {
          socket.destroy();
          throw error;
        }
      });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      const failure =
        error instanceof UpstreamError
          ? error
          : new UpstreamError('ERR_UPSTREAM_CONNECT', systemErrorText(error), { cause: error });
      failures.push(withPrefix(prefix, failure, []));
    }
  }
  throw combine(failures);
}

/** How long a probe waits per address when the target sets no timeout. */
const PROBE_TIMEOUT_MS = 10_000;

/**
 * Connects to `target` as libpq would and negotiates TLS (SSLRequest or direct, the sslmode's
 * verification), then stops before any StartupMessage: a credential-less check that the
 * server answers TLS with an acceptable certificate. Tries each address; resolves with the
 * first TLS socket (paused; the caller closes it) and the address it reached.
 */
export async function openTlsTransport(
  target: UpstreamTarget,
  options: UpstreamSessionOptions = {},
): Promise<{ socket: TLSSocket; address: string }> {
  const addresses = await resolveAddresses(target, options.signal);
  const bounded = { ...target, connectTimeoutMs: target.connectTimeoutMs ?? PROBE_TIMEOUT_MS };
  const failures: UpstreamError[] = [];
  for (const address of addresses) {
    const prefix = serverPrefix(address, { host: target.host, hostaddrGiven: !!target.hostaddr });
    try {
      const connected = await withDeadline(bounded, options.signal, (signal) =>
        connectTransport(bounded, address, 'tls', signal, options),
      );
      if (!connected.tls) {
        connected.socket.destroy();
        throw new UpstreamError(
          'ERR_UPSTREAM_SSL_REFUSED',
          'server does not support SSL, but SSL was required',
        );
      }
      return { socket: connected.socket as TLSSocket, address: formatSocketAddress(address) };
    } catch (error) {
      if (options.signal?.aborted) throw error;
      const failure = error instanceof TlsStageFailure ? error.failure : error;
      if (!(failure instanceof UpstreamError)) throw failure;
      failures.push(withPrefix(prefix, failure, []));
    }
  }
  throw combine(failures);
}
