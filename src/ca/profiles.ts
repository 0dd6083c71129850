// Certificate profiles: which extensions and validity each kind of certificate gets.
// Kept in one table so the rules for CA, server and client certificates are read in one place.
import type { KeyType } from './keys.js';
import { x509 } from './x509.js';

/** What a certificate is for. `root` and `intermediate` are CAs; `server`/`client` are leaves. */
export type CertificateKind = 'root' | 'intermediate' | 'server' | 'client';

/** Default validity in days per kind. Leaves stay under 398 days, the limit browsers enforce. */
export const DEFAULT_VALIDITY_DAYS: Record<CertificateKind, number> = {
  root: 3650,
  intermediate: 1825,
  server: 397,
  client: 397,
};

/** Default CRL lifetime in days. An expired CRL makes OpenSSL refuse every client: renew early. */
export const DEFAULT_CRL_DAYS = 30;

/**
 * Path length limits: the root may sign one level of intermediates, the intermediate only
 * leaves. A stolen intermediate key therefore cannot mint further CAs.
 */
const PATH_LENGTH: Partial<Record<CertificateKind, number>> = { root: 1, intermediate: 0 };

/** Key usage bits for a leaf: RSA keys also encipher (RSA key exchange), EC/Ed keys only sign. */
function leafKeyUsage(keyType: KeyType): number {
  const usage = x509.KeyUsageFlags.digitalSignature;
  return keyType.startsWith('rsa') ? usage | x509.KeyUsageFlags.keyEncipherment : usage;
}

/**
 * The extensions for one certificate (without SKI/AKI, which need the keys). Everything is
 * marked critical that RFC 5280 says should be: basicConstraints on CAs, keyUsage.
 */
export function profileExtensions(
  kind: CertificateKind,
  keyType: KeyType,
  sans: x509.JsonGeneralNames,
): x509.Extension[] {
  if (kind === 'root' || kind === 'intermediate') {
    return [
      new x509.BasicConstraintsExtension(true, PATH_LENGTH[kind], true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
    ];
  }
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(leafKeyUsage(keyType), true),
    new x509.ExtendedKeyUsageExtension(
      [kind === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
      false,
    ),
  ];
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans, false));
  return extensions;
}
