// libpq's sslmode semantics as one table (what to try first, what 'N' means, when to fall back,
// what to verify), and the pure decisions that depend on it: which root certificate applies
// and whether the settings are allowed together. Follows libpq 17/18 (fe-connect.c
// select_next_encryption_method(), fe-secure-openssl.c initialize_SSL()).
import { UpstreamError } from './upstream-error.js';

export const SSL_MODES = [
  'disable',
  'allow',
  'prefer',
  'require',
  'verify-ca',
  'verify-full',
] as const;
export type SslMode = (typeof SSL_MODES)[number];

export function isSslMode(value: string): value is SslMode {
  return (SSL_MODES as readonly string[]).includes(value);
}

/** One row of the sslmode table. */
export interface SslModeRule {
  /** The first attempt: plaintext, or TLS (SSLRequest, or direct TLS). */
  first: 'plaintext' | 'tls';
  /**
   * What to retry with, once, on a new connection when the first attempt fails: the TLS
   * handshake failed, or the server's first reply to the StartupMessage was an ErrorResponse.
   */
  fallback: 'plaintext' | 'tls' | undefined;
  /** The server answered SSLRequest with 'N': go on in plaintext on the same connection, or fail. */
  onRefused: 'continue-plaintext' | 'fail';
  /**
   * Server chain verification: never; only when a root certificate file exists (libpq loads
   * ~/.postgresql/root.crt or sslrootcert whenever it exists, whatever the mode); or always,
   * failing when there is no root certificate.
   */
  verifyChain: 'never' | 'if-root-cert' | 'always';
  /** Check the certificate's names against the `host` the user gave. */
  verifyHostname: boolean;
  /** sslnegotiation=direct is allowed (it must not be able to fall back to plaintext). */
  allowsDirect: boolean;
}

/**
 * The sslmode table. `allow` after its plaintext attempt failed has only TLS left, so an 'N'
 * to its SSLRequest fails; `prefer` refused by 'N' goes on in plaintext on the same socket.
 */
export const SSLMODE_RULES: Readonly<Record<SslMode, SslModeRule>> = {
  disable: {
    first: 'plaintext',
    fallback: undefined,
    onRefused: 'fail',
    verifyChain: 'never',
    verifyHostname: false,
    allowsDirect: false,
  },
  allow: {
    first: 'plaintext',
    fallback: 'tls',
    onRefused: 'fail',
    verifyChain: 'if-root-cert',
    verifyHostname: false,
    allowsDirect: false,
  },
  prefer: {
    first: 'tls',
    fallback: 'plaintext',
    onRefused: 'continue-plaintext',
    verifyChain: 'if-root-cert',
    verifyHostname: false,
    allowsDirect: false,
  },
  require: {
    first: 'tls',
    fallback: undefined,
    onRefused: 'fail',
    verifyChain: 'if-root-cert',
    verifyHostname: false,
    allowsDirect: true,
  },
  'verify-ca': {
    first: 'tls',
    fallback: undefined,
    onRefused: 'fail',
    verifyChain: 'always',
    verifyHostname: false,
    allowsDirect: true,
  },
  'verify-full': {
    first: 'tls',
    fallback: undefined,
    onRefused: 'fail',
    verifyChain: 'always',
    verifyHostname: true,
    allowsDirect: true,
  },
};

/** libpq's hint after a missing root certificate in verify-ca/verify-full. */
export const ROOT_CERT_HINT =
  "Either provide the file, use the system's trusted roots with sslrootcert=system, or change " +
  'sslmode to disable server certificate verification.';

/** Which trust anchors a TLS attempt uses; undefined: the server certificate is not checked. */
export type RootCertChoice = { kind: 'file'; path: string } | { kind: 'system' } | undefined;

/**
 * initialize_SSL()'s root certificate decision: sslrootcert (or ~/.postgresql/root.crt) when
 * the file exists, the system store for `system`; a missing file is fine unless the mode
 * always verifies, which fails with libpq's message and hint.
 */
export function chooseRootCert(
  mode: SslMode,
  sslrootcert: string | undefined,
  homeDir: string | undefined,
  exists: (path: string) => boolean,
): RootCertChoice {
  const rule = SSLMODE_RULES[mode];
  if (rule.verifyChain === 'never') return undefined;
  if (sslrootcert === 'system') return { kind: 'system' };
  const path = sslrootcert ? sslrootcert : homeDir ? `${homeDir}/.postgresql/root.crt` : '';
  if (path !== '' && exists(path)) return { kind: 'file', path };
  if (rule.verifyChain === 'always') {
    throw new UpstreamError(
      'ERR_UPSTREAM_TLS',
      path === ''
        ? 'could not get home directory to locate root certificate file'
        : `root certificate file "${path}" does not exist`,
      { hint: ROOT_CERT_HINT },
    );
  }
  return undefined;
}

/**
 * connectOptions2()'s cross-checks that libpq makes before connecting; returns libpq's
 * message for the first violated rule, or undefined.
 */
export function sslSettingsProblem(settings: {
  sslmode: SslMode;
  sslrootcert?: string | undefined;
  sslnegotiation?: 'postgres' | 'direct' | undefined;
}): string | undefined {
  if (settings.sslrootcert === 'system' && settings.sslmode !== 'verify-full') {
    return `weak sslmode "${settings.sslmode}" may not be used with sslrootcert=system (use "verify-full")`;
  }
  if (settings.sslnegotiation === 'direct' && !SSLMODE_RULES[settings.sslmode].allowsDirect) {
    return (
      `weak sslmode "${settings.sslmode}" may not be used with sslnegotiation=direct ` +
      '(use "require", "verify-ca", or "verify-full")'
    );
  }
  return undefined;
}
