// Reads PEM material for TLS contexts: certificate bundles, the CA file (every certificate in
// it checked) and CRLs (from a file or every file in a directory). CRLs labelled `BEGIN CRL`
// (as some libraries write them) are relabelled `BEGIN X509 CRL`, which OpenSSL accepts.
import { X509Certificate } from 'node:crypto';
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

const CERTIFICATE_BLOCK =
  /-----BEGIN (?:TRUSTED )?CERTIFICATE-----[\s\S]+?-----END (?:TRUSTED )?CERTIFICATE-----/g;

/**
 * Reads ssl_ca_file and checks every certificate in it. node:tls silently skips what it cannot
 * parse, which would leave no trusted CA and refuse every client; PostgreSQL refuses the file.
 */
export function readCaFile(path: string): Buffer {
  const pem = readPemFile(path, 'root certificate file');
  const fail = (reason: string) =>
    new ConfigError(
      'ERR_TLS_CREDENTIALS',
      `could not load root certificate file "${path}": ${reason}`,
    );
  const blocks = [...pem.toString('latin1').matchAll(CERTIFICATE_BLOCK)];
  if (blocks.length === 0) throw fail('no certificate or crl found');
  for (const [index, block] of blocks.entries()) {
    // OpenSSL's TRUSTED CERTIFICATE form carries trust settings after the certificate, which
    // X509Certificate cannot read; node:tls reads it, so it is left to the TLS context.
    if (block[0].startsWith('-----BEGIN TRUSTED')) continue;
    try {
      new X509Certificate(block[0]);
    } catch (error) {
      throw fail(`certificate ${index + 1}: ${describeError(error)}`);
    }
  }
  return pem;
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
  return loadCrlFiles(crlFile, crlDir).flatMap((file) => file.crls);
}

/** The CRLs of each file read: ssl_crl_file, then the regular files of ssl_crl_dir in order. */
export function loadCrlFiles(
  crlFile: string,
  crlDir: string,
): Array<{ file: string; crls: string[] }> {
  const files: Array<{ file: string; crls: string[] }> = [];
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
    files.push({ file: crlFile, crls: found });
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
      const text = readPemFile(path, 'SSL certificate revocation list file').toString('latin1');
      files.push({ file: path, crls: splitCrls(text) });
    }
  }
  return files;
}
