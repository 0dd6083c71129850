// What a TLS session tells about the client, in the shape PostgreSQL's pg_stat_ssl shows it
// (version, cipher, bits, client_dn, client_serial, issuer_dn) plus the verification verdict
// that client-certificate rules need.
import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { describeError } from '../errors.js';
import { type CertificateNames, certificateNames } from './distinguished-name.js';

export interface ClientCertificateFacts {
  /** The client sent a certificate. */
  presented: boolean;
  /** The chain verified against ssl_ca_file (and the CRLs). */
  verified: boolean;
  /** OpenSSL's reason when not verified, e.g. CERT_REVOKED, CERT_HAS_EXPIRED. */
  verifyError: string | undefined;
  /** Subject common name, unescaped, as PostgreSQL compares it with the user name. */
  cn: string | undefined;
  /** Subject DN in RFC 2253 form, exactly as PostgreSQL prints it for `clientname=DN`. */
  dn: string | undefined;
  /** Serial number in decimal, as pg_stat_ssl.client_serial. */
  serial: string | undefined;
  /** Issuer DN in RFC 2253 form. */
  issuerDn: string | undefined;
}

export interface TlsSessionInfo {
  version: string;
  cipher: string;
  bits: number;
  alpn: string | undefined;
  client: ClientCertificateFacts;
}

export function describeTlsSession(socket: TLSSocket): TlsSessionInfo {
  const cipher = socket.getCipher();
  // Read the peer certificate once: a second read can come back empty (FINDINGS).
  const peer: X509Certificate | undefined = socket.getPeerX509Certificate();
  const alpn = socket.alpnProtocol;
  return {
    version: socket.getProtocol() ?? 'unknown',
    cipher: cipher.standardName ?? cipher.name,
    bits: cipherBits(cipher.name),
    alpn: typeof alpn === 'string' ? alpn : undefined,
    client: peer
      ? clientCertificateFacts(peer, socket.authorized, socket.authorizationError)
      : NO_CLIENT_CERTIFICATE,
  };
}

/** A connection without a client certificate (or without TLS). */
export const NO_CLIENT_CERTIFICATE: ClientCertificateFacts = {
  presented: false,
  verified: false,
  verifyError: undefined,
  cn: undefined,
  dn: undefined,
  serial: undefined,
  issuerDn: undefined,
};

/** The verdict and names of a presented certificate. */
export function clientCertificateFacts(
  peer: X509Certificate,
  authorized: boolean,
  authorizationError: Error | string | undefined,
): ClientCertificateFacts {
  let names: CertificateNames;
  try {
    names = certificateNames(peer);
  } catch (error) {
    return unverified(peer, `unreadable certificate names: ${describeError(error)}`);
  }
  // PostgreSQL ends the handshake for a CN with a NUL byte (CVE-2009-4034): such a name could
  // pass for a shorter one.
  if (names.cnHasNul)
    return unverified(peer, "SSL certificate's common name contains embedded null");
  return {
    presented: true,
    verified: authorized,
    verifyError: authorized ? undefined : String(authorizationError),
    cn: names.cn,
    dn: names.subjectDn,
    serial: serialOf(peer),
    issuerDn: names.issuerDn,
  };
}

function unverified(peer: X509Certificate, reason: string): ClientCertificateFacts {
  return { ...NO_CLIENT_CERTIFICATE, presented: true, verifyError: reason, serial: serialOf(peer) };
}

function serialOf(peer: X509Certificate): string {
  return BigInt(`0x${peer.serialNumber}`).toString(10);
}

/** Symmetric key size; every cipher node:tls negotiates by default is AES-128/256 or ChaCha20. */
function cipherBits(name: string): number {
  if (/AES_?128|AES128/i.test(name)) return 128;
  return 256;
}
