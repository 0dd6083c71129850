// The thin socket layer of `pgtunnel check`: open a TCP connection, ask for TLS the PostgreSQL
// way (SSLRequest) or directly, and run one TLS handshake, each bounded by the probe timeout.
// Failures become ProbeFailure with a sentence a user can act on; nothing here decides severity.
import type { Socket } from 'node:net';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { hostLookupFailure, systemErrorText } from '../libpq/libpq-messages.js';
import { dial } from '../net/dial.js';
import { readUntil, StreamEndedError } from '../net/read-bytes.js';
import { encodeSslRequest } from '../protocol/frontend.js';
import type { CheckTarget } from './check-target.js';

/** Why a probe could not get an answer. `unreachable`: no TCP connection at all. */
export type FailureKind = 'unreachable' | 'timeout' | 'closed' | 'refused' | 'tls';

export class ProbeFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProbeFailure';
  }
}

export interface ProbeContext {
  target: CheckTarget;
  /** Limit for one probe (connect, negotiation and handshake together). */
  timeoutMs: number;
}

function timeoutFailure(ctx: ProbeContext, what: string): ProbeFailure {
  return new ProbeFailure('timeout', `${what} did not finish within ${ctx.timeoutMs / 1000} s`);
}

/** Opens a TCP connection to the target; ProbeFailure `unreachable` or `timeout` otherwise. */
export async function openTcp(ctx: ProbeContext, signal: AbortSignal): Promise<Socket> {
  const { target } = ctx;
  try {
    return await dial({ kind: 'tcp', host: target.address, port: target.port }, { signal });
  } catch (error) {
    if (signal.aborted) throw timeoutFailure(ctx, `connecting to ${target.label}`);
    const code = (error as { code?: string }).code ?? '';
    const text =
      code === 'ENOTFOUND' || code.startsWith('EAI_')
        ? hostLookupFailure(target.address, error)
        : `connection to server at "${target.address}", port ${target.port} failed: ${systemErrorText(error)}`;
    throw new ProbeFailure('unreachable', text, { cause: error });
  }
}

/** Runs `body` with a fresh TCP connection and the probe deadline; always closes the socket. */
export async function withConnection<T>(
  ctx: ProbeContext,
  body: (socket: Socket, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const signal = AbortSignal.timeout(ctx.timeoutMs);
  const socket = await openTcp(ctx, signal);
  try {
    return await body(socket, signal);
  } catch (error) {
    if (error instanceof ProbeFailure) throw error;
    if (signal.aborted) throw timeoutFailure(ctx, `the probe of ${ctx.target.label}`);
    if (error instanceof StreamEndedError) {
      throw new ProbeFailure('closed', 'the server closed the connection without answering');
    }
    throw new ProbeFailure('closed', `the connection failed: ${systemErrorText(error)}`, {
      cause: error,
    });
  } finally {
    socket.destroy();
  }
}

/** Reads the first `count` bytes the server sends (more may come with them). */
export function readFirstBytes(
  socket: Socket,
  count: number,
  signal: AbortSignal,
): Promise<Buffer> {
  return readUntil(socket, (bytes) => bytes.length >= count, signal);
}

/** Shows unexpected bytes the way a user recognises them: text when printable, else hex. */
export function describeBytes(bytes: Buffer): string {
  const head = bytes.subarray(0, 40);
  const text = head.toString('latin1');
  if (/^[\x20-\x7e\r\n\t]+$/.test(text)) return JSON.stringify(text.split(/\r?\n/)[0]);
  return `0x${head.toString('hex')}`;
}

export type TlsRoute = 'sslrequest' | 'direct';

/** Sends SSLRequest and reads the answer; resolves when it is `S`. */
async function sslRequestAccepted(socket: Socket, signal: AbortSignal): Promise<void> {
  socket.write(encodeSslRequest());
  const answer = await readFirstBytes(socket, 1, signal);
  if (answer[0] === 0x53 && answer.length === 1) return;
  if (answer[0] === 0x4e)
    throw new ProbeFailure('refused', 'the server answered SSLRequest with N (no TLS)');
  throw new ProbeFailure(
    'refused',
    `the server answered SSLRequest with ${describeBytes(answer)}, not S or N`,
  );
}

/** The outcome of one handshake: the open TLS socket, or why there is none. */
export type HandshakeOutcome =
  | { ok: true; socket: TLSSocket }
  | { ok: false; error: string; kind: FailureKind };

/**
 * Connects, reaches TLS by `route` and runs one handshake with `options` (Node's TLS client
 * options). The caller reads what it needs from the socket inside `use`; the socket is closed
 * afterwards. A handshake the server rejects is an ordinary outcome, not an exception.
 */
export async function handshake<T>(
  ctx: ProbeContext,
  route: TlsRoute,
  options: ConnectionOptions,
  use: (outcome: HandshakeOutcome, signal: AbortSignal) => Promise<T> | T,
): Promise<T> {
  return withConnection(ctx, async (socket, signal) => {
    if (route === 'sslrequest') {
      try {
        await sslRequestAccepted(socket, signal);
      } catch (error) {
        if (error instanceof ProbeFailure)
          return use({ ok: false, error: error.message, kind: error.kind }, signal);
        throw error;
      }
    }
    const tlsSocket = tlsConnect({
      socket,
      rejectUnauthorized: false,
      ...(ctx.target.servername ? { servername: ctx.target.servername } : {}),
      ...options,
    });
    const outcome = await new Promise<HandshakeOutcome>((resolve) => {
      const onAbort = () =>
        resolve({
          ok: false,
          error: `the TLS handshake did not finish within ${ctx.timeoutMs / 1000} s`,
          kind: 'timeout',
        });
      signal.addEventListener('abort', onAbort, { once: true });
      tlsSocket.once('secureConnect', () => {
        signal.removeEventListener('abort', onAbort);
        resolve({ ok: true, socket: tlsSocket });
      });
      tlsSocket.once('error', (error) => {
        signal.removeEventListener('abort', onAbort);
        resolve({ ok: false, error: handshakeErrorText(error), kind: 'tls' });
      });
      tlsSocket.once('close', () => {
        signal.removeEventListener('abort', onAbort);
        resolve({
          ok: false,
          error: 'the server closed the connection during the TLS handshake',
          kind: 'closed',
        });
      });
    });
    try {
      return await use(outcome, signal);
    } finally {
      tlsSocket.on('error', () => {});
      tlsSocket.destroy();
    }
  });
}

/** OpenSSL's error strings carry file and line; keep the reason ("no protocols available"). */
export function handshakeErrorText(error: Error): string {
  const reason = /:SSL routines:[^:]*:([^:]+):/.exec(error.message)?.[1];
  if (reason) return reason;
  if ((error as { code?: string }).code === 'ECONNRESET') {
    return 'the server reset the connection during the TLS handshake';
  }
  return error.message.split('\n')[0] ?? error.message;
}
