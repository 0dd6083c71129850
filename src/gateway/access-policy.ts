// The access decision the gateway enforces before anything reaches the server. Without an
// hba_file the built-in rules apply: unix-socket connections pass, TCP connections need TLS
// (as `local all all trust` + `hostssl all all all trust`, with authentication left to
// PostgreSQL).
import type { SqlStateCode } from '../protocol/codes.js';
import { SqlState } from '../protocol/codes.js';
import type { ClientCertificateFacts } from '../tls/peer-identity.js';

export interface AccessFacts {
  transport: 'local' | 'tcp';
  /** Client IP address (TCP only). */
  address: string | undefined;
  ssl: boolean;
  database: string;
  user: string;
  /** The startup's `replication` parameter: true (physical), 'database' (logical) or false. */
  replication: boolean | 'database';
  clientCertificate: ClientCertificateFacts;
}

export type AccessDecision =
  | {
      allow: true;
      /** False when the gateway itself authenticated the user (cert): PostgreSQL must not ask again. */
      passThroughAuth: boolean;
      /** `file:line` of the rule that matched, for logs. */
      rule: string | undefined;
    }
  | {
      allow: false;
      sqlstate: SqlStateCode;
      message: string;
      detail?: string | undefined;
      /** Extra detail for the server log only (PostgreSQL logs more than it tells the client). */
      logDetail?: string | undefined;
    };

/** Something that decides whether a connection may proceed. */
export interface AccessPolicy {
  decide(facts: AccessFacts): AccessDecision;
  /** Problems worth a log line after loading, each prefixed with file:line. */
  readonly warnings?: readonly string[];
}

/** PostgreSQL's host description in hba errors: the address, or "[local]". */
export function hbaHost(facts: AccessFacts): string {
  return facts.transport === 'local' ? '[local]' : (facts.address ?? '');
}

/** The rules used when no hba_file is configured. */
export const builtInAccessPolicy: AccessPolicy = {
  decide(facts) {
    // As authorize() does for hba rules: PostgreSQL with a CA fails the handshake for a client
    // certificate that does not verify, whatever the rules say.
    if (facts.clientCertificate.presented && !facts.clientCertificate.verified) {
      return {
        allow: false,
        sqlstate: SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
        message: 'connection requires a valid client certificate',
        logDetail: `client certificate verification failed: ${facts.clientCertificate.verifyError ?? 'unknown reason'}`,
      };
    }
    if (facts.transport === 'local' || facts.ssl) {
      return { allow: true, passThroughAuth: true, rule: undefined };
    }
    return {
      allow: false,
      sqlstate: SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
      message: `no pg_hba.conf entry for host "${hbaHost(facts)}", user "${facts.user}", database "${facts.database}", no encryption`,
      logDetail: 'the built-in rules (no hba_file) require TLS for TCP connections',
    };
  },
};
