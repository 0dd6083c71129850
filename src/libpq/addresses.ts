// Which servers and addresses a libpq connection tries, in which order, and the one loop over
// a host's addresses: each under its own connect_timeout, each failure prefixed with the
// address as libpq words it, all failures combined into one message when none answers.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { postgresSocketPath, type SocketAddress } from '../net/address.js';
import { hostLookupFailure, serverPrefix, systemErrorText } from './libpq-messages.js';
import { UpstreamError } from './upstream-error.js';
import type { UpstreamTarget } from './upstream-target.js';

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
export async function resolveAddresses(
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

/** One address being tried. */
export interface AddressAttempt {
  address: SocketAddress;
  /** The caller's signal plus this address's connect_timeout. */
  signal: AbortSignal;
  /**
   * Failures of earlier attempts on this address (a fallback's first try), shown above the
   * final one as libpq does.
   */
  earlier: string[];
  /** libpq's "connection to server at … failed: " for this address. */
  prefix: string;
}

/**
 * Tries `attempt` on each address of `target` in turn and returns the first success. Each
 * address gets `timeoutMs` (default: the target's connect_timeout). Rejects with one
 * UpstreamError listing every failure, or with the caller's signal's reason when aborted.
 */
export async function eachAddress<T>(
  target: UpstreamTarget,
  options: { signal?: AbortSignal | undefined; timeoutMs?: number | undefined },
  attempt: (address: AddressAttempt) => Promise<T>,
): Promise<T> {
  const { signal } = options;
  const timeoutMs = options.timeoutMs ?? target.connectTimeoutMs;
  const failures: UpstreamError[] = [];
  for (const address of await resolveAddresses(target, signal)) {
    const prefix = serverPrefix(address, { host: target.host, hostaddrGiven: !!target.hostaddr });
    const earlier: string[] = [];
    try {
      return await withDeadline(timeoutMs, signal, (bounded) =>
        attempt({ address, signal: bounded, earlier, prefix }),
      );
    } catch (error) {
      if (signal?.aborted) throw error;
      const failure =
        error instanceof UpstreamError
          ? error
          : new UpstreamError('ERR_UPSTREAM_CONNECT', systemErrorText(error), { cause: error });
      failures.push(withPrefix(prefix, failure, earlier));
    }
  }
  throw combineFailures(failures);
}

function withPrefix(prefix: string, error: UpstreamError, earlier: string[]): UpstreamError {
  const lines = [...earlier, prefix + error.reason];
  return new UpstreamError(error.code, lines.join('\n'), {
    reason: error.reason,
    hint: error.hint,
    cause: error.cause ?? error,
  });
}

/** Several failures as one, in libpq's multi-line form; the last one gives code and hint. */
export function combineFailures(failures: UpstreamError[]): UpstreamError {
  const last = failures[failures.length - 1];
  if (!last) return new UpstreamError('ERR_UPSTREAM_CONNECT', 'no server to connect to');
  if (failures.length === 1) return last;
  return new UpstreamError(last.code, failures.map((f) => f.message).join('\n'), {
    reason: last.reason,
    hint: last.hint,
    cause: last,
  });
}

/** Runs `work` under the caller's signal plus a per-address timeout (libpq's connect_timeout). */
async function withDeadline<T>(
  timeoutMs: number | undefined,
  outer: AbortSignal | undefined,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const timer = timeoutMs
    ? setTimeout(
        () => controller.abort(new UpstreamError('ERR_UPSTREAM_CONNECT', 'timeout expired')),
        timeoutMs,
      )
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
