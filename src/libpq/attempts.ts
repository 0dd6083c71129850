// libpq's sslmode fallbacks on one server address, as a pure decision: given the sslmode's
// rule, the attempt under way and what just happened, what to do next. Mirrors
// select_next_encryption_method() and its callers in libpq 17/18 (fe-connect.c).
import type { SslModeRule } from './sslmode.js';

export type AttemptMethod = 'plaintext' | 'tls';

/** The attempt under way on one address. */
export interface Attempt {
  method: AttemptMethod;
  /** A later failure may still be retried with the rule's fallback, on a new connection. */
  canFallBack: boolean;
}

/** What happened to an attempt. */
export type AttemptEvent =
  /** The server answered SSLRequest with 'N'. */
  | 'refused'
  /** The TLS handshake, or a check of the server's certificate, failed. */
  | 'tls-failed'
  /** The server's first reply to the StartupMessage was an ErrorResponse. */
  | 'error-response'
  /** Anything else: the session goes on. */
  | 'ok';

export type AttemptDecision =
  /** Close this connection and try again on a new one. */
  | { kind: 'retry'; attempt: Attempt }
  /** Go on in plaintext on the same connection (prefer, after 'N'). */
  | { kind: 'continue-plaintext'; attempt: Attempt }
  /** Give up on this address with the failure at hand. */
  | { kind: 'fail' }
  /** The session is established; an ErrorResponse, if any, is the client's to read. */
  | { kind: 'done' };

/** The first attempt on an address. libpq never negotiates TLS over a unix socket. */
export function firstAttempt(rule: SslModeRule, overUnixSocket: boolean): Attempt {
  if (overUnixSocket) return { method: 'plaintext', canFallBack: false };
  return { method: rule.first, canFallBack: rule.fallback !== undefined };
}

/** Whether the server's first reply must be read before the session is handed over. */
export function awaitsFirstReply(attempt: Attempt): boolean {
  return attempt.canFallBack;
}

export function nextAttempt(
  rule: SslModeRule,
  attempt: Attempt,
  event: AttemptEvent,
): AttemptDecision {
  switch (event) {
    case 'refused':
      // After 'N' the plaintext path is all that is left: nothing to fall back to.
      return rule.onRefused === 'continue-plaintext' && attempt.method === 'tls'
        ? { kind: 'continue-plaintext', attempt: { method: 'plaintext', canFallBack: false } }
        : { kind: 'fail' };
    case 'tls-failed':
      return attempt.canFallBack && rule.fallback
        ? { kind: 'retry', attempt: { method: rule.fallback, canFallBack: false } }
        : { kind: 'fail' };
    case 'error-response':
      return attempt.canFallBack && rule.fallback
        ? { kind: 'retry', attempt: { method: rule.fallback, canFallBack: false } }
        : { kind: 'done' };
    case 'ok':
      return { kind: 'done' };
  }
}
