// tls-server-end-point channel-binding data (RFC 5929 section 4.1): the hash of a TLS server's
// certificate, with the hash function of the certificate's signature, SHA-256 for MD5/SHA-1.
// Reads the signatureAlgorithm from the DER bytes itself: node:crypto's X509Certificate does
// not expose it on Node 20. Pure.
import { createHash } from 'node:crypto';

/** Signature algorithm OID → hash, for the algorithms whose hash OpenSSL (and so libpq) knows. */
const SIGNATURE_HASH: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.4': 'sha256', // md5WithRSAEncryption: RFC 5929 says SHA-256
  '1.2.840.113549.1.1.5': 'sha256', // sha1WithRSAEncryption: likewise
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.113549.1.1.14': 'sha224',
  '1.2.840.10045.4.1': 'sha256', // ecdsa-with-SHA1
  '1.2.840.10045.4.3.1': 'sha224',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.10040.4.3': 'sha256', // dsa-with-sha1
  '2.16.840.1.101.3.4.3.2': 'sha256', // dsa-with-sha256
};

interface Der {
  tag: number;
  /** Offset of the contents. */
  start: number;
  /** Offset just past the contents. */
  end: number;
}

function readDer(bytes: Buffer, offset: number): Der {
  const tag = bytes[offset];
  let length = bytes[offset + 1];
  if (tag === undefined || length === undefined) throw new RangeError('truncated DER');
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new RangeError('unsupported DER length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (bytes[start + i] ?? 0);
    start += count;
  }
  const end = start + length;
  if (end > bytes.length) throw new RangeError('truncated DER');
  return { tag, start, end };
}

function decodeOid(bytes: Buffer): string {
  const parts: number[] = [];
  let value = 0;
  for (const byte of bytes) {
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      if (parts.length === 0)
        parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

/** The OID of a DER certificate's outer signatureAlgorithm. */
export function certificateSignatureOid(certificate: Buffer): string {
  const SEQUENCE = 0x30;
  const OID = 0x06;
  const outer = readDer(certificate, 0);
  if (outer.tag !== SEQUENCE) throw new RangeError('not a DER certificate');
  const tbs = readDer(certificate, outer.start);
  const algorithm = readDer(certificate, tbs.end);
  if (tbs.tag !== SEQUENCE || algorithm.tag !== SEQUENCE) {
    throw new RangeError('not a DER certificate');
  }
  const oid = readDer(certificate, algorithm.start);
  if (oid.tag !== OID) throw new RangeError('not a DER certificate');
  return decodeOid(certificate.subarray(oid.start, oid.end));
}

/**
 * The tls-server-end-point binding data for a DER certificate, or undefined when its signature
 * algorithm has no single hash (Ed25519, Ed448, RSASSA-PSS): PostgreSQL cannot bind to such a
 * certificate either, so SCRAM-SHA-256-PLUS is not offered for it.
 */
export function tlsServerEndPoint(certificate: Buffer): Buffer | undefined {
  let oid: string;
  try {
    oid = certificateSignatureOid(certificate);
  } catch {
    return undefined;
  }
  const hash = SIGNATURE_HASH[oid];
  return hash === undefined ? undefined : createHash(hash).update(certificate).digest();
}
