// What a TLS session tells about the client, in the shape PostgreSQL's pg_stat_ssl shows it
// (version, cipher, bits, client_dn, client_serial, issuer_dn) plus the verification verdict
// that client-certificate rules need.
import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';

export interface ClientCertificateFacts {
  /** The client sent a certificate. */
  presented: boolean;
  /** The chain verified against ssl_ca_file (and the CRLs). */
  verified: boolean;
  /** OpenSSL's reason when not verified, e.g. CERT_REVOKED, CERT_HAS_EXPIRED. */
  verifyError: string | undefined;
  /** Subject common name. */
  cn: string | undefined;
  /** Subject DN in RFC 2253 form, as PostgreSQL prints it (pg_stat_ssl.client_dn, clientname=DN). */
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
    client: {
      presented: peer !== undefined,
      verified: peer !== undefined && socket.authorized,
      verifyError:
        peer === undefined
          ? undefined
          : socket.authorized
            ? undefined
            : String(socket.authorizationError),
      cn: peer ? firstAttribute(peer.subject, 'CN') : undefined,
      dn: peer ? toRfc2253(peer.subject) : undefined,
      serial: peer ? BigInt(`0x${peer.serialNumber}`).toString(10) : undefined,
      issuerDn: peer ? toRfc2253(peer.issuer) : undefined,
    },
  };
}

/** Symmetric key size; every cipher node:tls negotiates by default is AES-128/256 or ChaCha20. */
function cipherBits(name: string): number {
  if (/AES_?128|AES128/i.test(name)) return 128;
  return 256;
}

/** node's X509Certificate.subject is one `KEY=value` per line, most significant first. */
function attributes(multiline: string): Array<[string, string]> {
  return multiline
    .split('\n')
    .filter((line) => line.includes('='))
    .map((line) => {
      const at = line.indexOf('=');
      return [line.slice(0, at), line.slice(at + 1)];
    });
}

function firstAttribute(multiline: string, key: string): string | undefined {
  return attributes(multiline).find(([name]) => name === key)?.[1];
}

/** RFC 2253: least significant attribute first, comma separated, specials escaped. */
export function toRfc2253(multiline: string): string {
  return attributes(multiline)
    .reverse()
    .map(
      ([key, value]) =>
        `${key}=${value.replace(/([,+"\\<>;])/g, '\\$1').replace(/^([ #])/, '\\$1')}`,
    )
    .join(',');
}
