// Reads PEM material for TLS contexts: certificate bundles and CRLs (from a file or every file
// in a directory). CRLs labelled `BEGIN CRL` (as some libraries write them) are relabelled
// `BEGIN X509 CRL`, the form OpenSSL and node:tls accept.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, describeError } from '../errors.js';

export function readPemFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(
      'ERR_TLS_CREDENTIALS',
      `could not load ${what} "${path}": ${describeError(error)}`,
    );
  }
}

const CRL_BLOCK = /-----BEGIN (?:X509 )?CRL-----[\s\S]+?-----END (?:X509 )?CRL-----/g;

/** Every CRL in `text`, each as a PEM string with the X509 CRL label. */
export function splitCrls(text: string): string[] {
  return [...text.matchAll(CRL_BLOCK)].map((match) =>
    match[0].replace('BEGIN CRL', 'BEGIN X509 CRL').replace('END CRL', 'END X509 CRL'),
  );
}

/** CRLs from ssl_crl_file and every regular file in ssl_crl_dir. */
export function loadCrls(crlFile: string, crlDir: string): string[] {
  const crls: string[] = [];
  if (crlFile !== '') {
    const found = splitCrls(
      readPemFile(crlFile, 'SSL certificate revocation list file').toString('latin1'),
    );
    if (found.length === 0) {
      throw new ConfigError(
        'ERR_TLS_CREDENTIALS',
        `SSL certificate revocation list file "${crlFile}" contains no CRL`,
      );
    }
    crls.push(...found);
  }
  if (crlDir !== '') {
    let names: string[];
    try {
      names = readdirSync(crlDir).sort();
    } catch (error) {
      throw new ConfigError(
        'ERR_TLS_CREDENTIALS',
        `could not load SSL certificate revocation list directory "${crlDir}": ${describeError(error)}`,
      );
    }
    for (const name of names) {
      const path = join(crlDir, name);
      if (!statSync(path).isFile()) continue;
      crls.push(
        ...splitCrls(readPemFile(path, 'SSL certificate revocation list file').toString('latin1')),
      );
    }
  }
  return crls;
}
