// Why a client certificate failed verification, in the words PostgreSQL's clients see. PostgreSQL
// fails the TLS handshake with OpenSSL's alert for the reason (psql prints e.g. "SSL error: tlsv1
// alert unknown ca"). Node verifies only after the handshake and cannot send that alert, so the
// gateway puts the same reason in the DETAIL of its FATAL. The alert names follow OpenSSL's
// ssl_verify_alarm_type(); the codes are Node's authorizationError codes.

export interface VerifyFailure {
  /** Node's code, e.g. CERT_HAS_EXPIRED. */
  code: string;
  /** The TLS alert OpenSSL sends for it. */
  alert: string;
  /** One sentence for the client's DETAIL and the log. */
  reason: string;
}

const UNKNOWN_CA = 'unknown ca';

/** Node code → [alert, reason]. */
const VERIFY_FAILURES: Readonly<Record<string, readonly [string, string]>> = {
  CERT_HAS_EXPIRED: ['certificate expired', 'the client certificate has expired'],
  CERT_NOT_YET_VALID: ['bad certificate', 'the client certificate is not yet valid'],
  CERT_REVOKED: ['certificate revoked', 'the client certificate has been revoked'],
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: [
    UNKNOWN_CA,
    'the client certificate was not issued by a trusted certificate authority',
  ],
  UNABLE_TO_GET_ISSUER_CERT: [
    UNKNOWN_CA,
    'the client certificate was not issued by a trusted certificate authority',
  ],
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: [
    UNKNOWN_CA,
    'the client certificate was not issued by a trusted certificate authority',
  ],
  SELF_SIGNED_CERT_IN_CHAIN: [
    UNKNOWN_CA,
    'the client certificate chains to a root that is not trusted',
  ],
  DEPTH_ZERO_SELF_SIGNED_CERT: [
    UNKNOWN_CA,
    'the client certificate is self-signed and not trusted',
  ],
  UNABLE_TO_GET_CRL: [
    UNKNOWN_CA,
    'the revocation status of the client certificate is unknown: there is no CRL for its issuer',
  ],
  CRL_HAS_EXPIRED: ['certificate expired', 'the CRL for the client certificate has expired'],
  CERT_SIGNATURE_FAILURE: ['decrypt error', 'the client certificate signature is invalid'],
  INVALID_PURPOSE: ['unsupported certificate', 'the client certificate is not for client use'],
};

/** The alert and reason for a Node verification error (its code, and its message as fallback). */
export function describeVerifyFailure(code: string, message: string): VerifyFailure {
  const known = VERIFY_FAILURES[code];
  if (known) return { code, alert: known[0], reason: known[1] };
  return {
    code,
    alert: 'bad certificate',
    reason: `the client certificate is invalid: ${message}`,
  };
}

/** The DETAIL a refused client reads. */
export function verifyFailureDetail(failure: VerifyFailure): string {
  return `${capitalize(failure.reason)} (PostgreSQL ends the TLS handshake with the alert "${failure.alert}").`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
