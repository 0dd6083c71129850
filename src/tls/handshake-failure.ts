// Why a client's TLS handshake failed, in a few words a DBA can act on. The same reason goes
// in the log line (with the client address) and in the `reason` label of
// pgtunnel_tls_handshake_failures_total. Pure: an error or OpenSSL verify code in, a reason out.

/** Every reason, with what it means (docs/metrics.md lists the same table). */
export const HANDSHAKE_FAILURE_REASONS = {
  unknown_ca:
    "a certificate is signed by a CA the other side does not trust: the client's certificate against ssl_ca_file, or the gateway's certificate as the client's TLS alert reports",
  expired: 'a certificate is outside its validity period (expired or not yet valid)',
  revoked: "the client's certificate is revoked by a CRL",
  crl_missing:
    "no CRL is loaded for a CA of the client's chain (OpenSSL checks every level once CRLs are configured)",
  bad_certificate: 'a certificate was refused for another reason (see the log line)',
  no_shared_cipher: 'client and gateway have no cipher suite or signature algorithm in common',
  protocol_version:
    'the client offered no TLS version between ssl_min and ssl_max_protocol_version',
  timeout: 'the handshake did not finish within authentication_timeout',
  not_tls: 'the client sent something other than TLS after the gateway accepted SSLRequest',
  client_closed: 'the client closed the connection during the handshake without saying why',
  other: 'any other TLS error (see the log line)',
} as const;

export type HandshakeFailureReason = keyof typeof HANDSHAKE_FAILURE_REASONS;

/** OpenSSL verify results (X509_V_ERR_*, as node:tls names them) by reason. */
const VERIFY_CODES: ReadonlyArray<[RegExp, HandshakeFailureReason]> = [
  [
    /UNABLE_TO_GET_ISSUER_CERT|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE/,
    'unknown_ca',
  ],
  [/CERT_HAS_EXPIRED|CERT_NOT_YET_VALID/, 'expired'],
  [/CERT_REVOKED/, 'revoked'],
];

/**
 * The reason for a client certificate that did not verify (node:tls `authorizationError`).
 * With CRLs configured OpenSSL reports UNABLE_TO_GET_CRL for a chain from an unknown CA too,
 * so `issuerKnown` (the certificate's issuer is a CA of ssl_ca_file) tells the two apart.
 */
export function verifyErrorReason(
  code: string | undefined,
  issuerKnown = true,
): HandshakeFailureReason {
  if (code === 'UNABLE_TO_GET_CRL') return issuerKnown ? 'crl_missing' : 'unknown_ca';
  for (const [pattern, reason] of VERIFY_CODES) if (pattern.test(code ?? '')) return reason;
  return 'bad_certificate';
}

/** node:tls / OpenSSL error codes and messages, by reason; the first match wins. */
const TLS_ERRORS: ReadonlyArray<[RegExp, HandshakeFailureReason]> = [
  [/ERR_TLS_HANDSHAKE_TIMEOUT/, 'timeout'],
  [/UNKNOWN_CA|unknown ca/i, 'unknown_ca'],
  [/CERTIFICATE_EXPIRED|certificate expired/i, 'expired'],
  [/CERTIFICATE_REVOKED|certificate revoked/i, 'revoked'],
  [
    /BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|bad certificate/i,
    'bad_certificate',
  ],
  [
    /NO_SHARED_CIPHER|NO_SUITABLE_SIGNATURE|NO_SHARED_GROUP|HANDSHAKE_FAILURE|no shared cipher/i,
    'no_shared_cipher',
  ],
  [
    /UNSUPPORTED_PROTOCOL|VERSION_TOO_LOW|VERSION_TOO_HIGH|PROTOCOL_VERSION|NO_PROTOCOLS_AVAILABLE|unsupported protocol/i,
    'protocol_version',
  ],
  [
    /WRONG_VERSION_NUMBER|HTTP_REQUEST|HTTPS_PROXY_REQUEST|PACKET_LENGTH_TOO_LONG|UNKNOWN_PROTOCOL|RECORD_LAYER_FAILURE|wrong version number/i,
    'not_tls',
  ],
  [/ECONNRESET|EPIPE|closed the connection|socket hang up/i, 'client_closed'],
];

/** The reason for an error from the TLS acceptor (the error, its cause, their codes and text). */
export function handshakeFailureReason(error: unknown): HandshakeFailureReason {
  const text = describeChain(error);
  for (const [pattern, reason] of TLS_ERRORS) if (pattern.test(text)) return reason;
  return 'other';
}

function describeChain(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth++) {
    if (typeof current === 'object') {
      const { code, message, cause } = current as {
        code?: unknown;
        message?: unknown;
        cause?: unknown;
      };
      parts.push(String(code ?? ''), String(message ?? ''));
      current = cause;
    } else {
      parts.push(String(current));
      current = undefined;
    }
  }
  return parts.join(' ');
}
