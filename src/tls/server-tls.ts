// Turns the server's TLS configuration into node:tls server options, loading and checking every file
// first, so that a broken certificate fails the start (or the reload) with a clear message
// instead of failing each handshake later.
import { X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureVersion, type TlsOptions } from 'node:tls';
import { ConfigError, describeError } from '../errors.js';
import { ALPN_POSTGRESQL } from '../protocol/codes.js';
import { loadPrivateKey } from './key-file.js';
import { SERVER_SECURE_OPTIONS } from './no-renegotiation.js';
import { loadCrlFiles, readCaFile, readPemFile } from './pem-files.js';

/**
 * The server side's TLS configuration, in its own words; src/config/gateway-options.ts maps
 * postgresql.conf's ssl_* settings onto it. Error messages still name those settings, since
 * that is where the user fixes them.
 */
export interface ServerTlsConfig {
  certFile: string;
  keyFile: string;
  /** Trusted CAs for client certificates; clients are asked for one when set. */
  caFile?: string | undefined;
  crlFile?: string | undefined;
  crlDir?: string | undefined;
  ciphers: string;
  preferServerCiphers: boolean;
  ecdhCurve?: string | undefined;
  minVersion: SecureVersion;
  maxVersion?: SecureVersion | undefined;
  /** Prints the key's passphrase ('' for none). */
  passphraseCommand: string;
  /** Whether the command may run again on a reload (else an encrypted key cannot reload). */
  passphraseCommandSupportsReload: boolean;
}

/** The files a load read, as read: what the certificate inventory describes. */
export interface LoadedTlsFiles {
  certFile: string;
  cert: Buffer;
  caFile: string | undefined;
  ca: Buffer | undefined;
  crls: Array<{ file: string; crls: string[] }>;
}

export interface ServerTlsOptions {
  options: TlsOptions;
  /** Whether clients are asked for a certificate (a CA file is set). */
  requestsClientCertificate: boolean;
  /** The leaf certificate, for status output and expiry warnings. */
  certificate: X509Certificate;
  /** What was read, so nothing needs reading twice. */
  files: LoadedTlsFiles;
}

export function loadServerTls(
  config: ServerTlsConfig,
  context: { isReload: boolean; ticketKeys?: Buffer | undefined },
): ServerTlsOptions {
  const cert = readPemFile(config.certFile, 'server certificate file');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    throw new ConfigError(
      'ERR_TLS_CREDENTIALS',
      `could not load server certificate file "${config.certFile}": ${describeError(error)}`,
    );
  }
  const key = loadPrivateKey(config.keyFile, config.passphraseCommand, {
    isReload: context.isReload,
    commandSupportsReload: config.passphraseCommandSupportsReload,
  });
  const ca = config.caFile ? readCaFile(config.caFile) : undefined;
  const crlFiles = loadCrlFiles(config.crlFile ?? '', config.crlDir ?? '');
  const crl = crlFiles.flatMap((file) => file.crls);

  const options: TlsOptions = {
    cert,
    key: key.pem,
    ...(key.passphrase === undefined ? {} : { passphrase: key.passphrase }),
    ...(ca ? { ca } : {}),
    ...(crl.length > 0 ? { crl } : {}),
    ciphers: config.ciphers,
    honorCipherOrder: config.preferServerCiphers,
    minVersion: config.minVersion,
    ...(config.maxVersion ? { maxVersion: config.maxVersion } : {}),
    ...(config.ecdhCurve ? { ecdhCurve: config.ecdhCurve } : {}),
    // Clients are asked for a certificate when a CA is configured; the verdict is read after
    // the handshake so that a refused client gets a PostgreSQL error, not a bare TLS alert.
    requestCert: ca !== undefined,
    rejectUnauthorized: false,
    ALPNProtocols: [ALPN_POSTGRESQL],
    secureOptions: SERVER_SECURE_OPTIONS,
    ...(context.ticketKeys ? { ticketKeys: context.ticketKeys } : {}),
  };
  try {
    createSecureContext(options);
  } catch (error) {
    throw new ConfigError('ERR_TLS_CREDENTIALS', describeContextError(error, config));
  }
  return {
    options,
    requestsClientCertificate: ca !== undefined,
    certificate,
    files: { certFile: config.certFile, cert, caFile: config.caFile, ca, crls: crlFiles },
  };
}

function describeContextError(error: unknown, config: ServerTlsConfig): string {
  const message = describeError(error);
  if (/key values mismatch/i.test(message)) {
    return `private key file "${config.keyFile}" does not match server certificate file "${config.certFile}"`;
  }
  if (/no cipher match/i.test(message)) {
    return `could not set the cipher list (no valid ciphers available): ssl_ciphers = '${config.ciphers}'`;
  }
  if (/curve|group/i.test(message)) {
    return `ssl_ecdh_curve '${config.ecdhCurve ?? ''}' is not supported: ${message}`;
  }
  return `could not create the TLS context: ${message}`;
}
