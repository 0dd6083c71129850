// `ca inspect`: describes the certificates, CRLs and keys in a PEM file for a human, without
// ever printing key material. Parsing and formatting only; the CLI reads the file.
import { createPrivateKey, X509Certificate as NodeCertificate } from 'node:crypto';
import { PgTunnelError } from '../errors.js';
import { daysUntil } from './ca-listing.js';
import { describeKeyObject, isEncryptedKeyPem } from './keys.js';
import { type PemBlock, splitPem } from './pem.js';
import { x509 } from './x509.js';

/** What `inspect` reports about one certificate. */
export interface CertificateDescription {
  type: 'certificate';
  subject: string;
  sans: string[];
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  /** Whole days until expiry; negative once expired. */
  daysLeft: number;
  keyType: string;
  isCa: boolean;
  pathLength?: number | undefined;
  extendedKeyUsage: string[];
  selfSigned: boolean;
  sha256Fingerprint: string;
}

/** What `inspect` reports about one CRL. */
export interface CrlDescription {
  type: 'crl';
  issuer: string;
  thisUpdate: string;
  nextUpdate?: string | undefined;
  daysLeft?: number | undefined;
  revoked: { serial: string; revokedAt: string }[];
}

/** What `inspect` reports about a private key: its type and protection, never its content. */
export interface KeyDescription {
  type: 'private key';
  keyType: string;
  encrypted: boolean;
}

export type PemDescription = CertificateDescription | CrlDescription | KeyDescription;

const EKU_NAMES: Record<string, string> = {
  [x509.ExtendedKeyUsage.serverAuth]: 'serverAuth',
  [x509.ExtendedKeyUsage.clientAuth]: 'clientAuth',
};

/**
 * Describes every recognised block of a PEM file, in order. `source` names the file when a
 * block cannot be parsed.
 */
export function describePem(text: string, source: string, now = new Date()): PemDescription[] {
  const blocks = splitPem(text);
  return blocks.flatMap((block, i): PemDescription[] => {
    try {
      if (block.label === 'CERTIFICATE') return [describeCertificate(block.text, now)];
      if (block.label === 'X509 CRL' || block.label === 'CRL') return [describeCrl(block, now)];
    } catch (error) {
      throw new PgTunnelError(
        'ERR_CA_DAMAGED',
        `PEM block ${i + 1} of ${source} (${block.label}) is damaged and cannot be read: ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (block.label.endsWith('PRIVATE KEY')) return [describeKey(block.text)];
    return [];
  });
}

export { daysUntil };

function describeCertificate(pem: string, now: Date): CertificateDescription {
  const cert = new x509.X509Certificate(pem);
  const native = new NodeCertificate(pem);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const basic = cert.getExtension(x509.BasicConstraintsExtension);
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  return {
    type: 'certificate',
    subject: cert.subject,
    sans: (san?.names.items ?? []).map((n) => `${n.type.toUpperCase()}:${n.value}`),
    issuer: cert.issuer,
    serial: cert.serialNumber.toLowerCase(),
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    daysLeft: daysUntil(cert.notAfter, now),
    keyType: describeKeyObject(native.publicKey),
    isCa: basic?.ca ?? false,
    pathLength: basic?.pathLength,
    extendedKeyUsage: (eku?.usages ?? []).map((u) => EKU_NAMES[String(u)] ?? String(u)),
    selfSigned: cert.subject === cert.issuer,
    sha256Fingerprint: native.fingerprint256,
  };
}

function describeCrl(block: PemBlock, now: Date): CrlDescription {
  const crl = new x509.X509Crl(x509.PemConverter.decodeFirst(block.text));
  return {
    type: 'crl',
    issuer: crl.issuer,
    thisUpdate: crl.thisUpdate.toISOString(),
    nextUpdate: crl.nextUpdate?.toISOString(),
    daysLeft: crl.nextUpdate ? daysUntil(crl.nextUpdate, now) : undefined,
    revoked: crl.entries.map((e) => ({
      serial: e.serialNumber.toLowerCase(),
      revokedAt: e.revocationDate.toISOString(),
    })),
  };
}

function describeKey(pem: string): KeyDescription {
  if (isEncryptedKeyPem(pem)) {
    // The algorithm sits inside the encrypted part; say so rather than ask for the passphrase.
    return { type: 'private key', keyType: 'unknown until decrypted', encrypted: true };
  }
  try {
    return {
      type: 'private key',
      keyType: describeKeyObject(createPrivateKey(pem)),
      encrypted: false,
    };
  } catch {
    return { type: 'private key', keyType: 'unreadable', encrypted: false };
  }
}

/** Renders descriptions as indented text, one section per block. */
export function formatDescriptions(file: string, items: PemDescription[]): string {
  if (items.length === 0) return `${file}: no certificate, CRL or private key found\n`;
  const lines: string[] = [];
  items.forEach((item, i) => {
    const heading = items.length > 1 ? ` ${i + 1} of ${items.length}` : '';
    lines.push(`${file}: ${item.type}${heading}`);
    for (const [label, value] of fields(item)) lines.push(`  ${`${label}:`.padEnd(13)} ${value}`);
  });
  return `${lines.join('\n')}\n`;
}

function validity(daysLeft: number): string {
  if (daysLeft < 0) return `EXPIRED ${-daysLeft} day${daysLeft === -1 ? '' : 's'} ago`;
  return `${daysLeft} day${daysLeft === 1 ? '' : 's'} left`;
}

function fields(item: PemDescription): [string, string][] {
  switch (item.type) {
    case 'certificate':
      return [
        ['subject', item.subject],
        ['SANs', item.sans.join(', ') || '(none)'],
        ['issuer', item.selfSigned ? `${item.issuer} (self-signed)` : item.issuer],
        ['serial', item.serial],
        ['not before', item.notBefore],
        ['not after', `${item.notAfter} (${validity(item.daysLeft)})`],
        ['key type', item.keyType],
        [
          'use',
          item.isCa
            ? `CA${item.pathLength === undefined ? '' : `, path length ${item.pathLength}`}`
            : item.extendedKeyUsage.join(', ') || '(any)',
        ],
        ['SHA-256', item.sha256Fingerprint],
      ];
    case 'crl':
      return [
        ['issuer', item.issuer],
        ['this update', item.thisUpdate],
        [
          'next update',
          item.nextUpdate ? `${item.nextUpdate} (${validity(item.daysLeft ?? 0)})` : '(none given)',
        ],
        [
          'revoked',
          item.revoked.length === 0
            ? '(none)'
            : item.revoked.map((r) => `${r.serial} at ${r.revokedAt}`).join('\n                '),
        ],
      ];
    case 'private key':
      return [
        ['key type', item.keyType],
        ['encrypted', item.encrypted ? 'yes' : 'no'],
      ];
  }
}
