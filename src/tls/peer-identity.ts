// What a TLS session tells about the client, in the shape PostgreSQL's pg_stat_ssl shows it
// (version, cipher, bits, client_dn, client_serial, issuer_dn) plus the verification verdict
// that client-certificate rules need.
import { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import { describeError } from '../errors.js';
import { type CertificateNames, certificateNames } from './distinguished-name.js';
import { describeVerifyFailure, type VerifyFailure } from './verify-failure.js';

export interface ClientCertificateFacts {
  /** The client sent a certificate. */
  presented: boolean;
  /** The chain verified against ssl_ca_file (and the CRLs). */
  verified: boolean;
  /** OpenSSL's reason when not verified, e.g. CERT_REVOKED, CERT_HAS_EXPIRED, with its text. */
  verifyError: string | undefined;
  /** The same reason as the client is told it (TLS alert name and a sentence). */
  verifyFailure?: VerifyFailure | undefined;
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

/**
 * `trustedCas` (the certificates of ssl_ca_file) lets a misleading verdict be corrected: with
 * CRLs loaded, OpenSSL reports a certificate from an unknown CA as UNABLE_TO_GET_CRL, because
 * Node lets verification go on after the first error and the last one wins.
 */
export function describeTlsSession(
  socket: TLSSocket,
  trustedCas: readonly X509Certificate[] = [],
): TlsSessionInfo {
  const cipher = socket.getCipher();
  const presentedChain = socket.authorized ? [] : presentedCertificates(socket);
  // Read the peer certificate once: a second read can come back empty (FINDINGS).
  const peer: X509Certificate | undefined = socket.getPeerX509Certificate();
  const alpn = socket.alpnProtocol;
  let authorizationError: Error | string = socket.authorizationError;
  if (
    peer &&
    !socket.authorized &&
    errorCode(authorizationError) === 'UNABLE_TO_GET_CRL' &&
    trustedCas.length > 0 &&
    !chainsToTrustedCa(peer, presentedChain, trustedCas)
  ) {
    authorizationError = 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY';
  }
  return {
    version: socket.getProtocol() ?? 'unknown',
    cipher: cipher.standardName ?? cipher.name,
    bits: cipherBits(cipher.name),
    alpn: typeof alpn === 'string' ? alpn : undefined,
    client: peer
      ? clientCertificateFacts(peer, socket.authorized, authorizationError)
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
    ...(authorized ? { verifyError: undefined } : verdictOf(authorizationError)),
    cn: names.cn,
    dn: names.subjectDn,
    serial: serialOf(peer),
    issuerDn: names.issuerDn,
  };
}

function verdictOf(error: Error | string | undefined): {
  verifyError: string;
  verifyFailure: VerifyFailure;
} {
  // Node gives the code alone (a string) for OpenSSL's verdicts.
  const code = errorCode(error) ?? 'UNKNOWN';
  const message = error instanceof Error ? error.message : String(error ?? 'unknown reason');
  const failure = describeVerifyFailure(code, message);
  return { verifyError: `${code} (${failure.reason})`, verifyFailure: failure };
}

function errorCode(error: Error | string | undefined): string | undefined {
  if (typeof error === 'string') return error;
  const code = (error as (Error & { code?: unknown }) | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The certificates the client sent besides its own (its intermediates), as presented. */
function presentedCertificates(socket: TLSSocket): X509Certificate[] {
  const chain: X509Certificate[] = [];
  let entry: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (entry?.raw && chain.length < 10) {
    try {
      chain.push(new X509Certificate(entry.raw));
    } catch {
      break;
    }
    if (entry.issuerCertificate === entry) break;
    entry = entry.issuerCertificate;
  }
  return chain.slice(1);
}

/** Whether `leaf` chains, through the certificates the client sent, to one of `trustedCas`. */
export function chainsToTrustedCa(
  leaf: X509Certificate,
  presented: readonly X509Certificate[],
  trustedCas: readonly X509Certificate[],
): boolean {
  const issued = (child: X509Certificate, issuer: X509Certificate) =>
    child.checkIssued(issuer) && child.verify(issuer.publicKey);
  let current = leaf;
  for (let depth = 0; depth <= presented.length; depth++) {
    if (trustedCas.some((ca) => issued(current, ca))) return true;
    const next = presented.find((candidate) => candidate !== current && issued(current, candidate));
    if (!next) return false;
    current = next;
  }
  return false;
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
