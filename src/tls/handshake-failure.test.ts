// The reason table for failed handshakes: real node:tls / OpenSSL codes and messages in,
// the documented reason out.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type HandshakeFailureReason,
  handshakeFailureReason,
  verifyErrorReason,
} from './handshake-failure.js';

function tlsError(code: string, message: string): Error {
  const cause = Object.assign(new Error(message), { code });
  return Object.assign(new Error(`TLS handshake failed: ${message}`, { cause }), {
    code: 'ERR_TLS_HANDSHAKE',
  });
}

describe('handshakeFailureReason', () => {
  const cases: Array<[unknown, HandshakeFailureReason]> = [
    [
      Object.assign(new Error('TLS handshake did not finish within 60000 ms'), {
        code: 'ERR_TLS_HANDSHAKE_TIMEOUT',
      }),
      'timeout',
    ],
    [tlsError('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'tlsv1 alert unknown ca'), 'unknown_ca'],
    [
      tlsError('ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED', 'sslv3 alert certificate expired'),
      'expired',
    ],
    [
      tlsError('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'sslv3 alert bad certificate'),
      'bad_certificate',
    ],
    [tlsError('ERR_SSL_NO_SHARED_CIPHER', 'no shared cipher'), 'no_shared_cipher'],
    [tlsError('ERR_SSL_UNSUPPORTED_PROTOCOL', 'unsupported protocol'), 'protocol_version'],
    [
      tlsError('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'tlsv1 alert protocol version'),
      'protocol_version',
    ],
    [tlsError('ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number'), 'not_tls'],
    [tlsError('ERR_SSL_HTTP_REQUEST', 'http request'), 'not_tls'],
    [tlsError('ECONNRESET', 'read ECONNRESET'), 'client_closed'],
    [
      Object.assign(new Error('the client closed the connection during the TLS handshake'), {
        code: 'ERR_TLS_HANDSHAKE',
      }),
      'client_closed',
    ],
    [new Error('something else'), 'other'],
    ['a string', 'other'],
  ];
  for (const [error, reason] of cases) {
    it(`${reason}: ${error instanceof Error ? error.message : String(error)}`, () =>
      assert.equal(handshakeFailureReason(error), reason));
  }
});

describe('verifyErrorReason', () => {
  const cases: Array<[string | undefined, HandshakeFailureReason]> = [
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'unknown_ca'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'unknown_ca'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'unknown_ca'],
    ['CERT_HAS_EXPIRED', 'expired'],
    ['CERT_NOT_YET_VALID', 'expired'],
    ['CERT_REVOKED', 'revoked'],
    ['CERT_SIGNATURE_FAILURE', 'bad_certificate'],
    [undefined, 'bad_certificate'],
    ['UNABLE_TO_GET_CRL', 'crl_missing'],
  ];
  for (const [code, reason] of cases) {
    it(`${code} → ${reason}`, () => assert.equal(verifyErrorReason(code), reason));
  }
  it('UNABLE_TO_GET_CRL for an issuer outside ssl_ca_file is an unknown CA', () =>
    assert.equal(verifyErrorReason('UNABLE_TO_GET_CRL', false), 'unknown_ca'));
});
