// Reads what matters for an audit out of the certificates a server sent: key, signature
// algorithm, validity, CA flag, names; and whether the chain is in order and complete. Pure:
// certificates in, facts out (the time is a parameter).
import { X509Certificate } from 'node:crypto';
import { certificateSignatureOid } from '../auth/channel-binding.js';
import { parseSubjectAltName, peerNameProblem } from '../libpq/peer-name.js';
import { certificateNames } from '../tls/distinguished-name.js';
import type { CertificateFacts, CertificateInfo } from './facts.js';

/** Signature algorithm OIDs, named as OpenSSL names them. */
export const SIGNATURE_ALGORITHMS: Record<string, string> = {
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.113549.1.1.14': 'sha224WithRSAEncryption',
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption',
  '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'rsassaPss',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10045.4.3.1': 'ecdsa-with-SHA224',
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512',
  '1.3.101.112': 'ED25519',
  '1.3.101.113': 'ED448',
};

const DAY_MS = 86_400_000;

function signatureAlgorithm(der: Buffer): string {
  try {
    const oid = certificateSignatureOid(der);
    return SIGNATURE_ALGORITHMS[oid] ?? oid;
  } catch {
    return 'unknown';
  }
}

function dn(certificate: X509Certificate, which: 'subject' | 'issuer'): string {
  try {
    const names = certificateNames(certificate);
    return which === 'subject' ? names.subjectDn : names.issuerDn;
  } catch {
    return certificate[which].replaceAll('\n', ', ');
  }
}

/** The names libpq would match the host against: SANs, or the CN when there are none. */
function hostNames(certificate: X509Certificate): string[] {
  const alt = parseSubjectAltName(certificate.subjectAltName).map((name) => name.value);
  if (alt.length > 0) return alt;
  const cn = commonName(certificate);
  return cn === undefined ? [] : [cn];
}

function commonName(certificate: X509Certificate): string | undefined {
  try {
    return certificateNames(certificate).cn;
  } catch {
    return undefined;
  }
}

export function describeCertificate(certificate: X509Certificate, now: Date): CertificateInfo {
  const key = certificate.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  const info: CertificateInfo = {
    subject: dn(certificate, 'subject'),
    issuer: dn(certificate, 'issuer'),
    notBefore: new Date(certificate.validFrom).toISOString(),
    notAfter: new Date(certificate.validTo).toISOString(),
    daysLeft: Math.trunc((new Date(certificate.validTo).getTime() - now.getTime()) / DAY_MS),
    expired: new Date(certificate.validTo).getTime() < now.getTime(),
    keyType: key.asymmetricKeyType ?? 'unknown',
    signatureAlgorithm: signatureAlgorithm(certificate.raw),
    isCa: certificate.ca,
    selfSigned: isSelfSigned(certificate),
    hostNames: hostNames(certificate),
  };
  if (details.modulusLength !== undefined) info.keyBits = details.modulusLength;
  if (details.namedCurve !== undefined) {
    info.curve = details.namedCurve;
    const bits = /(\d{3})/.exec(details.namedCurve)?.[1];
    if (bits) info.keyBits = Number(bits);
  }
  return info;
}

export function isSelfSigned(certificate: X509Certificate): boolean {
  try {
    return certificate.checkIssued(certificate) && certificate.verify(certificate.publicKey);
  } catch {
    return false;
  }
}

function signs(issuer: X509Certificate, subject: X509Certificate): boolean {
  try {
    return subject.checkIssued(issuer) && subject.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/** Splits a PEM bundle into certificates; unreadable blocks are skipped. */
export function certificatesFromPem(text: string): X509Certificate[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const certificates: X509Certificate[] = [];
  for (const block of blocks) {
    try {
      certificates.push(new X509Certificate(block));
    } catch {
      // not a certificate OpenSSL can read: ignore, as OpenSSL does in a CA file
    }
  }
  return certificates;
}

/**
 * Chain analysis: in order when each certificate signs the one before it; complete when the
 * last one sent is self-signed or is signed by a self-signed certificate of the trust store.
 */
export function analyseChain(
  chain: readonly X509Certificate[],
  trustStore: readonly X509Certificate[],
): { inOrder: boolean; complete: boolean } {
  let inOrder = chain.length > 0;
  for (let i = 1; i < chain.length; i++) {
    const previous = chain[i - 1];
    const current = chain[i];
    if (previous && current && !signs(current, previous)) inOrder = false;
  }
  const last = chain.at(-1);
  const complete =
    last !== undefined &&
    (isSelfSigned(last) || trustStore.some((root) => isSelfSigned(root) && signs(root, last)));
  return { inOrder, complete };
}

/** libpq's verify-full host-name check for each name, against the leaf. */
export function checkNames(
  leaf: X509Certificate,
  names: readonly string[],
): CertificateFacts['names'] {
  const peer = { altNames: parseSubjectAltName(leaf.subjectAltName), commonName: commonName(leaf) };
  return names.map((name) => {
    const problem = peerNameProblem(name, peer);
    return problem === undefined ? { name } : { name, problem };
  });
}
