// Turns the ssl_* settings into node:tls server options, loading and checking every file
// first, so that a broken certificate fails the start (or the reload) with a clear message
// instead of failing each handshake later.
import { X509Certificate } from 'node:crypto';
import { createSecureContext, type TlsOptions } from 'node:tls';
import type { Settings } from '../config/settings.js';
import { ConfigError, describeError } from '../errors.js';
import { ALPN_POSTGRESQL } from '../protocol/codes.js';
import { loadPrivateKey } from './key-file.js';
import { SERVER_SECURE_OPTIONS } from './no-renegotiation.js';
import { loadCrls, readCaFile, readPemFile } from './pem-files.js';

export interface ServerTlsOptions {
  options: TlsOptions;
  /** Whether clients are asked for a certificate (ssl_ca_file is set). */
  requestsClientCertificate: boolean;
  /** The leaf certificate, for status output and expiry warnings. */
  certificate: X509Certificate;
}

type TlsSettings = Pick<
  Settings,
  | 'ssl_cert_file'
  | 'ssl_key_file'
  | 'ssl_ca_file'
  | 'ssl_crl_file'
  | 'ssl_crl_dir'
  | 'ssl_ciphers'
  | 'ssl_prefer_server_ciphers'
  | 'ssl_ecdh_curve'
  | 'ssl_min_protocol_version'
  | 'ssl_max_protocol_version'
  | 'ssl_passphrase_command'
  | 'ssl_passphrase_command_supports_reload'
>;

export function loadServerTls(
  settings: TlsSettings,
  context: { isReload: boolean; ticketKeys?: Buffer | undefined },
): ServerTlsOptions {
  const cert = readPemFile(settings.ssl_cert_file, 'server certificate file');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    throw new ConfigError(
      'ERR_TLS_CREDENTIALS',
      `could not load server certificate file "${settings.ssl_cert_file}": ${describeError(error)}`,
    );
  }
  const key = loadPrivateKey(settings.ssl_key_file, settings.ssl_passphrase_command, {
    isReload: context.isReload,
    commandSupportsReload: settings.ssl_passphrase_command_supports_reload,
  });
  const ca = settings.ssl_ca_file === '' ? undefined : readCaFile(settings.ssl_ca_file);
  const crl = loadCrls(settings.ssl_crl_file, settings.ssl_crl_dir);

  const options: TlsOptions = {
    cert,
    key: key.pem,
    ...(key.passphrase === undefined ? {} : { passphrase: key.passphrase }),
    ...(ca ? { ca } : {}),
    ...(crl.length > 0 ? { crl } : {}),
    ciphers: settings.ssl_ciphers,
    honorCipherOrder: settings.ssl_prefer_server_ciphers,
    minVersion: settings.ssl_min_protocol_version,
    ...(settings.ssl_max_protocol_version === ''
      ? {}
      : { maxVersion: settings.ssl_max_protocol_version }),
    ...(settings.ssl_ecdh_curve === '' ? {} : { ecdhCurve: settings.ssl_ecdh_curve }),
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
    throw new ConfigError('ERR_TLS_CREDENTIALS', describeContextError(error, settings));
  }
  return { options, requestsClientCertificate: ca !== undefined, certificate };
}

function describeContextError(error: unknown, settings: TlsSettings): string {
  const message = describeError(error);
  if (/key values mismatch/i.test(message)) {
    return `private key file "${settings.ssl_key_file}" does not match server certificate file "${settings.ssl_cert_file}"`;
  }
  if (/no cipher match/i.test(message)) {
    return `could not set the cipher list (no valid ciphers available): ssl_ciphers = '${settings.ssl_ciphers}'`;
  }
  if (/curve|group/i.test(message)) {
    return `ssl_ecdh_curve '${settings.ssl_ecdh_curve}' is not supported: ${message}`;
  }
  return `could not create the TLS context: ${message}`;
}
