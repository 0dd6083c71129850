// The TLS leg to an upstream PostgreSQL server with libpq's rules (fe-secure-openssl.c
// initialize_SSL(), open_client_SSL()): which files it loads and when, SNI and ALPN, chain and
// host name checks after the handshake, and libpq's words for each failure.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { Socket } from 'node:net';
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  type ConnectionOptions,
  createSecureContext,
  type SecureVersion,
  type TLSSocket,
  connect as tlsConnect,
} from 'node:tls';
import { ALPN_POSTGRESQL } from '../protocol/codes.js';
import { splitCrls } from '../tls/pem-files.js';
import { systemErrorText } from './libpq-messages.js';
import { parseSubjectAltName, peerNameProblem } from './peer-name.js';
import { chooseRootCert, type RootCertChoice, SSLMODE_RULES } from './sslmode.js';
import { UpstreamError } from './upstream-error.js';
import type { UpstreamTarget } from './upstream-target.js';

/** Where libpq-style defaults are looked up; tests pass their own. */
export interface TlsEnvironment {
  /** Home directory for ~/.postgresql/*; default os.homedir() ($HOME first). */
  homeDir?: string | undefined;
  /** For SSL_CERT_FILE / SSL_CERT_DIR with sslrootcert=system; default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** Everything read from disk for one TLS attempt. */
export interface UpstreamTlsSetup {
  options: ConnectionOptions;
  rootCert: RootCertChoice;
  verifyHostname: boolean;
  /** The name verify-full compares with the certificate: `host` as given, not hostaddr. */
  checkHost: string;
  direct: boolean;
}

/** The system CA bundle OpenSSL's SSL_CTX_set_default_verify_paths() would load. */
const SYSTEM_CA_FILES = [
  '/usr/lib/ssl/cert.pem',
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/cert.pem',
];

/** OpenSSL's texts for the verify results Node reports as codes. */
const VERIFY_ERROR_TEXT: Record<string, string> = {
  UNABLE_TO_GET_ISSUER_CERT: 'unable to get issuer certificate',
  UNABLE_TO_GET_CRL: 'unable to get certificate CRL',
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: "unable to decrypt certificate's signature",
  UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: 'unable to decode issuer public key',
  CERT_SIGNATURE_FAILURE: 'certificate signature failure',
  CRL_SIGNATURE_FAILURE: 'CRL signature failure',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  CERT_HAS_EXPIRED: 'certificate has expired',
  CRL_NOT_YET_VALID: 'CRL is not yet valid',
  CRL_HAS_EXPIRED: 'CRL has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in certificate chain',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unable to get local issuer certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unable to verify the first certificate',
  CERT_CHAIN_TOO_LONG: 'certificate chain too long',
  CERT_REVOKED: 'certificate revoked',
  INVALID_CA: 'invalid CA certificate',
  PATH_LENGTH_EXCEEDED: 'path length constraint exceeded',
  INVALID_PURPOSE: 'unsupported certificate purpose',
  CERT_UNTRUSTED: 'certificate not trusted',
  CERT_REJECTED: 'certificate rejected',
};

function tlsFailure(reason: string, options: { hint?: string; cause?: unknown } = {}) {
  return new UpstreamError('ERR_UPSTREAM_TLS', reason, options);
}

function fileExists(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function readSystemRoots(env: NodeJS.ProcessEnv): Buffer[] {
  const files = env.SSL_CERT_FILE ? [env.SSL_CERT_FILE] : SYSTEM_CA_FILES;
  const roots: Buffer[] = [];
  for (const file of files) {
    if (fileExists(file)) {
      roots.push(readFileSync(file));
      break;
    }
  }
  if (env.SSL_CERT_DIR) {
    for (const dir of env.SSL_CERT_DIR.split(':')) {
      for (const name of safeReaddir(dir)) {
        const path = join(dir, name);
        if (fileExists(path)) roots.push(readFileSync(path));
      }
    }
  }
  if (roots.length === 0) {
    throw tlsFailure(
      `could not load system root certificate paths: none of ${files.join(', ')} exists`,
    );
  }
  return roots;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** CRLs are optional in libpq: missing or unreadable ones are silently skipped. */
function readCrls(target: UpstreamTarget, homeDir: string | undefined): string[] {
  const files: string[] = [];
  if (target.sslcrl) files.push(target.sslcrl);
  if (target.sslcrldir) {
    for (const name of safeReaddir(target.sslcrldir)) files.push(join(target.sslcrldir, name));
  }
  if (!target.sslcrl && !target.sslcrldir && homeDir) {
    files.push(join(homeDir, '.postgresql', 'root.crl'));
  }
  const crls: string[] = [];
  for (const file of files) {
    if (!fileExists(file)) continue;
    // Node reads one CRL per string, so a bundle (one per CA level) is split into blocks.
    const blocks = splitCrls(readFileSync(file, 'latin1'));
    try {
      createSecureContext({ crl: blocks });
      crls.push(...blocks);
    } catch {
      // as X509_STORE_load_locations() failing in libpq: not an error
    }
  }
  return crls;
}

/** libpq refuses a private key others can read (the same rule as the server's). */
function checkKeyPermissions(path: string): void {
  const stat = statSync(path);
  const mode = stat.mode & 0o777;
  const uid = process.geteuid?.();
  const bad =
    stat.uid === uid ? (mode & 0o177) !== 0 : stat.uid === 0 ? (mode & 0o137) !== 0 : false;
  if (bad) {
    throw tlsFailure(
      `private key file "${path}" has group or world access; file must have permissions ` +
        'u=rw (0600) or less if owned by the current user, or permissions u=rw,g=r (0640) or ' +
        'less if owned by root',
    );
  }
}

function readClientCertificate(
  target: UpstreamTarget,
  homeDir: string | undefined,
): Pick<ConnectionOptions, 'cert' | 'key' | 'passphrase'> {
  if (target.sslcertmode === 'disable') return {};
  const certPath =
    target.sslcert || (homeDir ? join(homeDir, '.postgresql', 'postgresql.crt') : '');
  if (!certPath) return {};
  let cert: Buffer;
  try {
    cert = readFileSync(certPath);
  } catch (error) {
    // a missing default (or explicit) certificate simply means "no client certificate"
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw tlsFailure(`could not open certificate file "${certPath}": ${systemErrorText(error)}`, {
      cause: error,
    });
  }
  const keyPath = target.sslkey || (homeDir ? join(homeDir, '.postgresql', 'postgresql.key') : '');
  if (!keyPath || !fileExists(keyPath)) {
    throw tlsFailure(`certificate present, but not private key file "${keyPath}"`);
  }
  checkKeyPermissions(keyPath);
  const key = readFileSync(keyPath);
  const passphrase = target.sslpassword;
  try {
    createSecureContext({ cert, key, passphrase });
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    if (/mismatch/i.test(text)) {
      throw tlsFailure(`certificate does not match private key file "${keyPath}": ${text}`, {
        cause: error,
      });
    }
    throw tlsFailure(`could not load private key file "${keyPath}": ${text}`, { cause: error });
  }
  return passphrase === undefined ? { cert, key } : { cert, key, passphrase };
}

/**
 * Reads the files a TLS attempt to `target` needs and builds Node's options. Throws
 * UpstreamError (ERR_UPSTREAM_TLS) with libpq's message, e.g. for a missing root certificate
 * in verify-ca/verify-full.
 */
export function prepareUpstreamTls(
  target: UpstreamTarget,
  environment: TlsEnvironment = {},
  options: { alpn?: boolean } = {},
): UpstreamTlsSetup {
  const homeDir = environment.homeDir ?? safeHomeDir();
  const env = environment.env ?? process.env;
  const rule = SSLMODE_RULES[target.sslmode];
  const rootCert = chooseRootCert(target.sslmode, target.sslrootcert, homeDir, fileExists);
  const connection: ConnectionOptions = {
    // We check the chain and the name ourselves after the handshake, so that each failure
    // gets libpq's wording and only the checks the sslmode asks for are made.
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
    // libpq 17+ offers ALPN on every TLS connection; it is mandatory for direct TLS.
    // (Raw mode talks to non-PostgreSQL TLS servers such as stunnel and offers none.)
    ...(options.alpn === false ? {} : { ALPNProtocols: [ALPN_POSTGRESQL] }),
    minVersion: (target.sslMinProtocolVersion ?? 'TLSv1.2') as SecureVersion,
    ...readClientCertificate(target, homeDir),
  };
  if (target.sslMaxProtocolVersion) {
    connection.maxVersion = target.sslMaxProtocolVersion as SecureVersion;
  }
  if (rootCert?.kind === 'system') {
    connection.ca = readSystemRoots(env);
  } else if (rootCert?.kind === 'file') {
    try {
      connection.ca = readFileSync(rootCert.path);
      createSecureContext({ ca: connection.ca });
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      throw tlsFailure(`could not read root certificate file "${rootCert.path}": ${text}`, {
        cause: error,
      });
    }
    const crls = readCrls(target, homeDir);
    if (crls.length > 0) connection.crl = crls;
  }
  // SNI carries the host name the user gave, never an IP literal (libpq's sslsni=1).
  const sniHost = target.host;
  if (target.sslsni !== false && sniHost && isIP(sniHost) === 0 && !sniHost.startsWith('/')) {
    connection.servername = sniHost;
  }
  return {
    options: connection,
    rootCert,
    verifyHostname: rule.verifyHostname,
    checkHost: target.host,
    direct: target.sslnegotiation === 'direct',
  };
}

function safeHomeDir(): string | undefined {
  try {
    return process.env.HOME || homedir();
  } catch {
    return undefined;
  }
}

/** libpq's words for a failed handshake: OpenSSL's reason, or the system call's error. */
function handshakeFailure(error: unknown, target: UpstreamTarget): UpstreamError {
  const err = error as { code?: string; reason?: string; message?: string };
  const message = err.message ?? String(error);
  if (/disconnected before secure TLS connection/.test(message)) {
    return tlsFailure('SSL SYSCALL error: EOF detected', { cause: error });
  }
  if (err.reason) {
    const versionProblem = /version|protocol/i.test(err.reason);
    return tlsFailure(`SSL error: ${err.reason}`, {
      cause: error,
      hint: versionProblem
        ? `This may indicate that the server does not support any SSL protocol version between ${
            target.sslMinProtocolVersion ?? 'TLSv1.2'
          } and ${target.sslMaxProtocolVersion ?? 'TLSv1.3'}.`
        : undefined,
    });
  }
  if (err.code && /^E[A-Z]+$/.test(err.code)) {
    return tlsFailure(`SSL SYSCALL error: ${systemErrorText(error)}`, { cause: error });
  }
  return tlsFailure(`SSL error: ${message}`, { cause: error });
}

/**
 * Runs the TLS handshake over `socket` and applies the checks the sslmode calls for.
 * Resolves with the TLS socket, or rejects with UpstreamError (and destroys the socket).
 */
export function startUpstreamTls(
  socket: Socket,
  target: UpstreamTarget,
  setup: UpstreamTlsSetup,
  signal?: AbortSignal,
): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const tlsSocket = tlsConnect({ ...setup.options, socket });
    const fail = (error: unknown) => {
      cleanup();
      tlsSocket.destroy();
      socket.destroy();
      reject(error);
    };
    const onError = (error: Error) => fail(handshakeFailure(error, target));
    const onClose = () => fail(tlsFailure('SSL SYSCALL error: EOF detected'));
    const onAbort = () => fail(signal?.reason);
    const cleanup = () => {
      tlsSocket.off('error', onError);
      tlsSocket.off('close', onClose);
      tlsSocket.off('secureConnect', onSecure);
      signal?.removeEventListener('abort', onAbort);
    };
    const onSecure = () => {
      const problem = postHandshakeProblem(tlsSocket, setup);
      if (problem) {
        fail(problem);
        return;
      }
      cleanup();
      tlsSocket.pause();
      resolve(tlsSocket);
    };
    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    tlsSocket.once('error', onError);
    tlsSocket.once('close', onClose);
    tlsSocket.once('secureConnect', onSecure);
  });
}

function postHandshakeProblem(
  tlsSocket: TLSSocket,
  setup: UpstreamTlsSetup,
): UpstreamError | undefined {
  if (setup.rootCert && !tlsSocket.authorized) {
    const code = String(tlsSocket.authorizationError ?? 'unknown error');
    const text = VERIFY_ERROR_TEXT[code] ?? code.toLowerCase().replaceAll('_', ' ');
    return tlsFailure(`SSL error: certificate verify failed: ${text}`);
  }
  if (setup.direct && !tlsSocket.alpnProtocol) {
    return tlsFailure(
      'direct SSL connection was established without ALPN protocol negotiation extension',
    );
  }
  if (tlsSocket.alpnProtocol && tlsSocket.alpnProtocol !== ALPN_POSTGRESQL) {
    return tlsFailure('SSL connection was established with unexpected ALPN protocol');
  }
  if (setup.verifyHostname) {
    // Read the certificate once: on Node 20 a second read can come back empty.
    const certificate = tlsSocket.getPeerCertificate(false);
    const cn = certificate.subject?.CN as string | string[] | undefined;
    const problem = peerNameProblem(setup.checkHost, {
      altNames: parseSubjectAltName(certificate.subjectaltname),
      commonName: Array.isArray(cn) ? cn[0] : cn,
    });
    if (problem) return tlsFailure(problem);
  }
  return undefined;
}
