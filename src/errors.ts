// Internal errors: a base class with a stable `code`, and the catalog of codes.
// These never reach a PostgreSQL client as-is; client-facing errors are ErrorResponses
// built in src/protocol/backend-error.ts.

/** Every internal error code pgtunnel can raise. Codes are public API: renaming one is breaking. */
export const ErrorCodes = {
  ERR_CONFIG_SYNTAX: 'a configuration file has a syntax error',
  ERR_CONFIG_INVALID: 'a configuration value is invalid',
  ERR_CONFIG_MISSING: 'a required setting is missing (nowhere to listen, no upstream, no tunnel)',
  ERR_CONFIG_CONFLICT: 'settings contradict each other, or one is defined twice',
  ERR_CONFIG_PLACEMENT: 'a key stands in the wrong section of a configuration file',
  ERR_CONFIG_UNSUPPORTED: 'a setting asks for something pgtunnel does not do',
  ERR_CONFIG_UNKNOWN_KEY: 'a configuration key is not known',
  ERR_CONFIG_FILE: 'a configuration file could not be read',
  ERR_TLS_CREDENTIALS: 'a certificate, key, CA or CRL file could not be loaded',
  ERR_TLS_KEY_PERMISSIONS: 'a private key file is readable by group or others',
  ERR_TLS_PASSPHRASE: 'ssl_passphrase_command failed or gave a wrong passphrase',
  ERR_TLS_HANDSHAKE: 'a TLS handshake failed',
  ERR_TLS_HANDSHAKE_TIMEOUT: 'a TLS handshake did not finish in time',
  ERR_HBA_SYNTAX: 'a pg_hba.conf or pg_ident.conf line is invalid',
  ERR_HBA_UNSUPPORTED: 'a pg_hba.conf line asks for something the gateway cannot enforce',
  ERR_UPSTREAM_CONNECT: 'the upstream server could not be reached',
  ERR_UPSTREAM_TLS: 'the TLS connection to the upstream server failed',
  ERR_UPSTREAM_SSL_REFUSED: 'the upstream server refused TLS but sslmode requires it',
  ERR_CONNINFO: 'a libpq connection string is invalid',
  ERR_LISTEN: 'a listening socket could not be opened',
  ERR_PID_FILE: 'a PID file names a process that is still running, or cannot be written',
  ERR_INHERITED_SOCKET:
    'an inherited socket (systemd socket activation, inetd) is missing or unusable',
  ERR_CA: 'a certificate authority operation failed for another reason',
  ERR_CA_FILE: 'a CA file or directory could not be read, written or created',
  ERR_CA_DAMAGED:
    'a CA file is not what it should be (damaged PEM, not a certificate or key, a key of another CA, a broken index)',
  ERR_CA_EXPIRED: 'a CA certificate has expired and can no longer sign',
  ERR_CA_BUSY: 'another pgtunnel ca command holds the CA directory',
  ERR_CA_UNKNOWN_SERIAL: 'no certificate with that serial was issued by this CA',
  ERR_CA_REFUSED:
    'the CA does not do what was asked (revoke a root CA, sign an unsupported key type)',
  ERR_CA_EXISTS: 'a file would be overwritten without --force',
  ERR_CA_MISSING: 'the CA directory or one of its CA certificates does not exist',
  ERR_CA_PASSPHRASE: 'a CA key passphrase is missing or wrong',
  ERR_SSH: 'an SSH operation failed',
  ERR_SSH_HOST_KEY: 'an SSH host key was not trusted',
  ERR_SSH_AUTH: 'SSH authentication failed',
  ERR_SSH_CHECK: 'the far end of an SSH forward did not answer as PostgreSQL',
  ERR_USAGE: 'a command line was invalid',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/** Base class of all pgtunnel errors: carries a stable `code` and an optional `cause`. */
export class PgTunnelError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A configuration problem; `location` is `file:line` when the problem has one. */
export class ConfigError extends PgTunnelError {
  readonly location: string | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { location?: string | undefined; cause?: unknown },
  ) {
    super(code, options?.location ? `${options.location}: ${message}` : message, options);
    this.location = options?.location;
  }
}

/** Renders any thrown value as one line for logs and CLI output. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
