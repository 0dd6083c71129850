// The decision the gateway enforces for a connection: the matched pg_hba.conf rule plus the
// client certificate, judged as PostgreSQL's ClientAuthentication(), CheckCertAuth() and
// auth_failed() do (src/backend/libpq/auth.c, PostgreSQL 18), with the same FATAL wording.

import { clientAddress, formatIp } from '../net/ip-address.js';
import { SqlState } from '../protocol/codes.js';
import { checkUsermap } from './ident.js';
import type { ConnectionFacts, HbaDecision } from './match.js';
import type { HbaRule, IdentMaps } from './types.js';

/** What the TLS layer learned about the client's certificate. */
export interface ClientCertFacts {
  /** The client sent a certificate. */
  presented: boolean;
  /** It chained to a trusted CA and passed revocation checks. */
  verified: boolean;
  /** The TLS layer's reason when `presented && !verified`, for the log. */
  verifyError?: string;
  /** The same reason for the client's DETAIL (PostgreSQL would end the handshake with it). */
  verifyDetail?: string;
  /** Subject CN. */
  cn?: string;
  /** Subject DN in RFC 2253 form, as PostgreSQL prints it for `clientname=DN`. */
  dn?: string;
}

/** Why a connection was refused; stable values for logs and metrics. */
export type DenyReason =
  | 'no-match'
  | 'reject'
  | 'certificate-invalid'
  | 'certificate-required'
  | 'certificate-name';

/** The connection may proceed. */
export interface Allowed {
  readonly allow: true;
  readonly rule: HbaRule;
  /**
   * True for trust/password/md5/scram-sha-256: PostgreSQL authenticates the client through
   * the gateway. False for `cert`: the gateway has authenticated the client itself.
   */
  readonly passThroughAuth: boolean;
  /** For `cert` rules, the authenticated identity: the certificate's subject DN. */
  readonly identity?: string;
}

/** The connection must end with a FATAL ErrorResponse carrying these fields. */
export interface Denied {
  readonly allow: false;
  readonly reason: DenyReason;
  /** SQLSTATE for the ErrorResponse: 28000, or 28P01 for password-method failures. */
  readonly sqlstate: string;
  /** PostgreSQL's FATAL message text, for the client. */
  readonly message: string;
  /**
   * A DETAIL for the client. PostgreSQL sends none for these failures, except that the gateway
   * names why a client certificate failed (PostgreSQL's TLS alert, which Node cannot send).
   */
  readonly detail?: string;
  /** Server-side explanation for the log (PostgreSQL's LOG lines and errdetail_log). */
  readonly logDetail: string;
  /** The rule that matched, if any. */
  readonly rule?: HbaRule;
}

export type Authorization = Allowed | Denied;

/**
 * Judges a connection. `decision` comes from matchHba(rules, facts); `identMaps` is the loaded
 * pg_ident.conf, needed for `cert` rules with `map=`.
 *
 * One difference from PostgreSQL's order: with `clientcert=verify-full` on a password rule,
 * PostgreSQL checks the certificate name after the password succeeds; the gateway checks it
 * before passing authentication through, and answers with the same message PostgreSQL would.
 */
export function authorize(
  decision: HbaDecision,
  facts: ConnectionFacts,
  cert: ClientCertFacts,
  identMaps?: IdentMaps,
): Authorization {
  // PostgreSQL with a CA configured aborts the TLS handshake when a client certificate fails
  // verification, whatever pg_hba.conf says; the gateway accepted the handshake only to be
  // able to say why, so it refuses here before looking at the rule.
  if (cert.presented && !cert.verified) {
    return deny('certificate-invalid', SqlState.INVALID_AUTHORIZATION_SPECIFICATION, {
      message: 'connection requires a valid client certificate',
      ...(cert.verifyDetail === undefined ? {} : { detail: cert.verifyDetail }),
      logDetail: `client certificate verification failed: ${cert.verifyError ?? 'unknown reason'}`,
      rule: decision.matched ? decision.rule : undefined,
    });
  }

  if (!decision.matched) {
    // ClientAuthentication(), case uaImplicitReject.
    const message =
      facts.replication === true
        ? `no pg_hba.conf entry for replication connection from host "${hostInfo(facts)}", ` +
          `user "${facts.user}", ${encryptionState(facts)}`
        : `no pg_hba.conf entry for host "${hostInfo(facts)}", user "${facts.user}", ` +
          `database "${facts.database}", ${encryptionState(facts)}`;
    return deny('no-match', SqlState.INVALID_AUTHORIZATION_SPECIFICATION, {
      message,
      logDetail: 'no pg_hba.conf line matched the connection',
    });
  }

  const rule = decision.rule;
  const matchedLine = `Connection matched file "${rule.file}" line ${rule.line}: "${rule.rawLine}"`;

  // ClientAuthentication(): clientcert is checked before the method, even before "reject".
  if (rule.clientCert !== 'off' && !(cert.presented && cert.verified)) {
    return deny('certificate-required', SqlState.INVALID_AUTHORIZATION_SPECIFICATION, {
      message: 'connection requires a valid client certificate',
      logDetail: `clientcert=${rule.clientCert} and the client sent no certificate\n${matchedLine}`,
      rule,
    });
  }

  if (rule.method === 'reject') {
    // ClientAuthentication(), case uaReject.
    const message =
      facts.replication === true
        ? `pg_hba.conf rejects replication connection for host "${hostInfo(facts)}", ` +
          `user "${facts.user}", ${encryptionState(facts)}`
        : `pg_hba.conf rejects connection for host "${hostInfo(facts)}", user "${facts.user}", ` +
          `database "${facts.database}", ${encryptionState(facts)}`;
    return deny('reject', SqlState.INVALID_AUTHORIZATION_SPECIFICATION, {
      message,
      logDetail: matchedLine,
      rule,
    });
  }

  if (rule.clientCert === 'verify-full') {
    const failure = checkCertAuth(rule, facts.user, cert, identMaps);
    if (failure) {
      const { sqlstate, message } = authFailed(rule, facts.user);
      return deny('certificate-name', sqlstate, {
        message,
        logDetail: [...failure, matchedLine].join('\n'),
        rule,
      });
    }
  }

  if (rule.method === 'cert') {
    return { allow: true, rule, passThroughAuth: false, identity: cert.dn ?? '' };
  }
  return { allow: true, rule, passThroughAuth: true };
}

/**
 * CheckCertAuth(): the certificate's CN (or DN with clientname=DN) must map to the user.
 * Returns PostgreSQL's LOG lines on failure, undefined on success.
 */
function checkCertAuth(
  rule: HbaRule,
  user: string,
  cert: ClientCertFacts,
  identMaps: IdentMaps | undefined,
): string[] | undefined {
  const peerName = rule.clientName === 'DN' ? cert.dn : cert.cn;
  if (peerName === undefined || peerName === '') {
    return [
      `certificate authentication failed for user "${user}": client certificate contains no user name`,
    ];
  }
  if (rule.method === 'cert' && !cert.dn) {
    return [`certificate authentication failed for user "${user}": unable to retrieve subject DN`];
  }
  const result = checkUsermap(identMaps, rule.map, user, peerName);
  if (result.ok) return undefined;
  const log = [...result.log];
  if (rule.method !== 'cert') {
    log.push(
      `certificate validation (clientcert=verify-full) failed for user "${user}": ` +
        `${rule.clientName} mismatch`,
    );
  }
  return log;
}

/** auth_failed(): the client-facing message names the rule's method. */
function authFailed(rule: HbaRule, user: string): { sqlstate: string; message: string } {
  switch (rule.method) {
    case 'trust':
      return {
        sqlstate: SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
        message: `"trust" authentication failed for user "${user}"`,
      };
    case 'password':
    case 'md5':
    case 'scram-sha-256':
      // PostgreSQL uses 28P01 here so that libpq can hint at a wrong .pgpass entry.
      return {
        sqlstate: SqlState.INVALID_PASSWORD,
        message: `password authentication failed for user "${user}"`,
      };
    case 'cert':
      return {
        sqlstate: SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
        message: `certificate authentication failed for user "${user}"`,
      };
    case 'reject':
      return {
        sqlstate: SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
        message: `authentication failed for user "${user}": host rejected`,
      };
  }
}

/** The host as PostgreSQL prints it: `[local]` for Unix sockets, else the numeric address. */
function hostInfo(facts: ConnectionFacts): string {
  if (facts.transport === 'local') return '[local]';
  const ip = facts.address === undefined ? undefined : clientAddress(facts.address);
  return ip ? formatIp(ip) : (facts.address ?? '');
}

function encryptionState(facts: ConnectionFacts): string {
  return facts.ssl ? 'SSL encryption' : 'no encryption';
}

function deny(
  reason: DenyReason,
  sqlstate: string,
  fields: { message: string; detail?: string; logDetail: string; rule?: HbaRule | undefined },
): Denied {
  const out: Denied = {
    allow: false,
    reason,
    sqlstate,
    message: fields.message,
    ...(fields.detail === undefined ? {} : { detail: fields.detail }),
    logDetail: fields.logDetail,
  };
  return fields.rule ? { ...out, rule: fields.rule } : out;
}
