// Reconnect delays: exponential, capped, with jitter so many tunnels that lost the same server
// do not all knock at once when it comes back.

/** Reconnect timing. */
export interface BackoffOptions {
  /** Delay before the second attempt (the first is immediate). Default 500 ms. */
  initialMs?: number;
  /** The cap. Default 30 s. */
  maxMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** ± fraction of random spread. Default 0.2. */
  jitter?: number;
}

/**
 * Delay before reconnect attempt `attempt` (0-based): 0 for the first, then initialMs,
 * initialMs×factor … up to maxMs, each spread by ±jitter.
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  if (attempt <= 0) return 0;
  const initial = options.initialMs ?? 500;
  const max = options.maxMs ?? 30_000;
  const factor = options.factor ?? 2;
  const jitter = options.jitter ?? 0.2;
  const base = Math.min(max, initial * factor ** (attempt - 1));
  const spread = base * jitter * (2 * random() - 1);
  return Math.max(0, Math.min(max, Math.round(base + spread)));
}
