// Passes a client's CancelRequest on to the upstream servers, as libpq's PQcancel does: a new
// connection, over TLS when the sslmode asks for it (PostgreSQL accepts it either way), the
// request, then the server's close.
import { readUntil, StreamEndedError } from '../net/read-bytes.js';
import { encodeCancelRequest } from '../protocol/frontend.js';
import { eachAddress } from './addresses.js';
import { firstAttempt } from './attempts.js';
import { SSLMODE_RULES } from './sslmode.js';
import { openAttempt, writeAll } from './transport.js';
import { UpstreamError } from './upstream-error.js';
import type { UpstreamTarget } from './upstream-target.js';
import type { TlsEnvironment } from './upstream-tls.js';

export interface CancelOptions {
  signal?: AbortSignal;
  /** Where ~/.postgresql and the system CA store are looked up (tests). */
  tlsEnvironment?: TlsEnvironment | undefined;
  /** Written first on each TCP connection (the gateway's PROXY protocol header). */
  preamble?: Buffer | undefined;
}

/** How long a cancel waits for the server to close when the target sets no timeout. */
const CANCEL_TIMEOUT_MS = 10_000;

/**
 * A cancel key belongs to one server of a multi-host list, which is not tracked without parsing
 * the session (and may be another worker's), so the request goes to each: a server ignores a
 * key it did not issue. Rejects only when no server took it, with every failure in the message.
 */
export async function sendCancelToEach(
  targets: readonly UpstreamTarget[],
  processId: number,
  secretKey: Buffer,
  options: CancelOptions = {},
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

/** Sends a CancelRequest to the target and waits for the server to close the connection. */
export async function sendCancelRequest(
  target: UpstreamTarget,
  processId: number,
  secretKey: Buffer,
  options: CancelOptions = {},
): Promise<void> {
  const packet = encodeCancelRequest(processId, secretKey);
  const rule = SSLMODE_RULES[target.sslmode];
  const timeoutMs = target.connectTimeoutMs ?? CANCEL_TIMEOUT_MS;
  await eachAddress(target, { signal: options.signal, timeoutMs }, async ({ address, signal }) => {
    // allow starts in plaintext; a cancel has no reply to judge a fallback by
    const { transport } = await openAttempt(
      target,
      address,
      firstAttempt(rule, address.kind === 'unix'),
      signal,
      options,
    );
    const { socket } = transport;
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
}
