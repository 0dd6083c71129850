// Whether `pgtunnel serve` should receive new connections, for /ready (a Kubernetes readiness
// probe, a balancer's health check). Distinct from /health (is the process alive): a gateway
// that drains its sessions after SIGTERM is alive but not ready, so it leaves the Service's
// endpoints before its listener closes.
import type { ServeState } from './serve-status.js';

export interface Readiness {
  ready: boolean;
  /** One word for the response body: ready, starting or stopping. */
  reason: 'ready' | 'starting' | 'stopping';
}

/**
 * `listening` is how many listening sockets the gateway has open. The process exits when its
 * configuration is invalid at start, and a failed reload keeps the previous (valid)
 * configuration serving, so a running gateway always has a valid configuration.
 */
export function readiness(state: ServeState, listening: number): Readiness {
  if (state === 'stopping') return { ready: false, reason: 'stopping' };
  if (listening === 0) return { ready: false, reason: 'starting' };
  return { ready: true, reason: 'ready' };
}
