// PEM text helpers: encoding certificates and CRLs with the labels OpenSSL and Node expect, and
// splitting bundles back into blocks.
import { PgTunnelError } from '../errors.js';
import { x509 } from './x509.js';

/** PEM for a certificate. */
export function certificatePem(cert: x509.X509Certificate): string {
  return `${cert.toString('pem').trim()}\n`;
}

/**
 * PEM for a CRL under the label `X509 CRL`. The X.509 library writes `BEGIN CRL`, which neither
 * OpenSSL (`openssl crl`, PostgreSQL's ssl_crl_file) nor Node's `crl` option accept.
 */
export function crlPem(crl: x509.X509Crl): string {
  return `${x509.PemConverter.encode(crl.rawData, 'X509 CRL').trim()}\n`;
}

/** One PEM block: its label (`CERTIFICATE`, `X509 CRL`, ...) and full text. */
export interface PemBlock {
  label: string;
  text: string;
}

/** Splits PEM text into its blocks, in order; text outside blocks is ignored. */
export function splitPem(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  const pattern = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;
  for (const match of text.matchAll(pattern)) {
    blocks.push({ label: match[1] ?? '', text: `${match[0]}\n` });
  }
  return blocks;
}

/**
 * Every certificate in PEM text, in file order. `source` (a path) names the file when a block
 * is damaged: the library's own message ("Data does not match to Certificate ASN1 schema")
 * says neither which file nor what to do.
 */
export function parseCertificates(text: string, source: string): x509.X509Certificate[] {
  const blocks = splitPem(text).filter((block) => block.label === 'CERTIFICATE');
  return blocks.map((block, i) => {
    try {
      return new x509.X509Certificate(block.text);
    } catch (error) {
      const which = blocks.length > 1 ? `certificate ${i + 1} of ${blocks.length} in ` : '';
      throw new PgTunnelError(
        'ERR_CA_DAMAGED',
        `${which}${source} is damaged: not a valid X.509 certificate (${(error as Error).message}); restore the file from a backup`,
        { cause: error },
      );
    }
  });
}
