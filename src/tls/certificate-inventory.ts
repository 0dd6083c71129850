// The certificates a gateway generation serves and trusts, with their expiry: the served
// certificate (ssl_cert_file), every CA in ssl_ca_file, and the next update of every CRL. Read
// once when a generation loads, so metrics, the status page and the console describe what is
// in effect, not what is on disk now.
import { X509Certificate } from 'node:crypto';
import { certificateNames } from './distinguished-name.js';
import type { LoadedTlsFiles } from './server-tls.js';

/** One certificate or CRL in effect. */
export interface CertificateEntry {
  /** `served`: the gateway's own certificate; `ca`: trusted for client certificates; `crl`. */
  kind: 'served' | 'ca' | 'crl';
  /** The file it was read from. */
  file: string;
  /** Subject DN (RFC 2253); for a CRL, its issuer. */
  subject: string;
  issuer: string;
  /** Serial number in decimal, as pg_stat_ssl prints it; '' for a CRL. */
  serial: string;
  /** Not-after time; for a CRL, its next update (undefined when the CRL names none). */
  notAfter: Date | undefined;
}

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Lists what a TLS load serves and trusts, from the bytes it read (nothing is read again); a
 * part that cannot be parsed is left out rather than failing the load.
 */
export async function certificateInventory(files: LoadedTlsFiles): Promise<CertificateEntry[]> {
  const entries: CertificateEntry[] = [];
  const served = certificatesIn(files.cert)[0];
  if (served) entries.push(entry('served', files.certFile, served));
  if (files.caFile && files.ca) {
    for (const ca of certificatesIn(files.ca)) entries.push(entry('ca', files.caFile, ca));
  }
  // The X.509 library is loaded only when there are CRLs to read (node:crypto reads no CRL).
  const { x509 } = files.crls.length > 0 ? await import('../ca/x509.js') : { x509: undefined };
  for (const { file, crls } of files.crls) {
    if (!x509) break;
    for (const pem of crls) {
      try {
        const crl = new x509.X509Crl(x509.PemConverter.decodeFirst(pem));
        entries.push({
          kind: 'crl',
          file,
          subject: crl.issuer,
          issuer: crl.issuer,
          serial: '',
          notAfter: crl.nextUpdate,
        });
      } catch {
        // node:tls accepted it when the generation loaded; an unreadable one is not listed.
      }
    }
  }
  return entries;
}

function entry(
  kind: 'served' | 'ca',
  file: string,
  certificate: X509Certificate,
): CertificateEntry {
  let subject = certificate.subject.replaceAll('\n', ', ');
  let issuer = certificate.issuer.replaceAll('\n', ', ');
  try {
    const names = certificateNames(certificate);
    subject = names.subjectDn;
    issuer = names.issuerDn;
  } catch {
    // keep OpenSSL's one-line form
  }
  return {
    kind,
    file,
    subject,
    issuer,
    serial: BigInt(`0x${certificate.serialNumber}`).toString(10),
    notAfter: new Date(certificate.validTo),
  };
}

function certificatesIn(pem: Buffer): X509Certificate[] {
  const found: X509Certificate[] = [];
  for (const match of pem.toString('latin1').matchAll(CERTIFICATE_BLOCK)) {
    try {
      found.push(new X509Certificate(match[0]));
    } catch {
      // loadServerTls already refused unreadable certificates
    }
  }
  return found;
}

/** Whole days from `now` until `date` (negative once past). */
export function daysLeft(date: Date, now: Date = new Date()): number {
  return Math.floor((date.getTime() - now.getTime()) / 86_400_000);
}

/**
 * Warnings for served certificates that expire within `withinMs` (or have expired): what the
 * log and the status page say, with the file, subject, date and days left.
 */
export function expiryWarnings(
  entries: readonly CertificateEntry[],
  withinMs: number,
  now: Date = new Date(),
): string[] {
  const warnings: string[] = [];
  for (const item of entries) {
    if (item.kind !== 'served' || !item.notAfter) continue;
    const remaining = item.notAfter.getTime() - now.getTime();
    if (remaining >= withinMs) continue;
    const when = item.notAfter.toISOString();
    warnings.push(
      remaining <= 0
        ? `server certificate "${item.file}" (${item.subject}) expired on ${when}: clients will refuse it; replace it and reload`
        : `server certificate "${item.file}" (${item.subject}) expires in ${daysLeft(item.notAfter, now)} days (${when}); replace it and reload`,
    );
  }
  return warnings;
}
