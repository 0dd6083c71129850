// Loads the server's private key the way PostgreSQL does: refuse a key file that others can
// read (be-secure-common.c, check_ssl_key_file_permissions), and decrypt an encrypted key with
// the passphrase printed by ssl_passphrase_command (run_ssl_passphrase_command).
import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { ConfigError, describeError } from '../errors.js';

/** The prompt PostgreSQL substitutes for %p in ssl_passphrase_command. */
const PASSPHRASE_PROMPT = 'Enter PEM pass phrase:';

export interface LoadedKey {
  pem: Buffer;
  /** Set when the key is encrypted; handed to node:tls, never logged. */
  passphrase: string | undefined;
}

/** Refuses key files readable by group/world unless root-owned with at most 0640. */
export function checkKeyFilePermissions(path: string): void {
  let stats: ReturnType<typeof statSync>;
  try {
    stats = statSync(path);
  } catch (error) {
    throw new ConfigError(
      'ERR_TLS_CREDENTIALS',
      `could not access private key file "${path}": ${describeError(error)}`,
    );
  }
  if (!stats.isFile()) {
    throw new ConfigError(
      'ERR_TLS_CREDENTIALS',
      `private key file "${path}" is not a regular file`,
    );
  }
  const ownUid = process.geteuid?.() ?? stats.uid;
  if (stats.uid !== ownUid && stats.uid !== 0) {
    throw new ConfigError(
      'ERR_TLS_KEY_PERMISSIONS',
      `private key file "${path}" must be owned by the user running pgtunnel or root`,
    );
  }
  const mode = stats.mode & 0o777;
  const tooOpen = stats.uid === ownUid ? (mode & 0o077) !== 0 : (mode & 0o037) !== 0;
  if (tooOpen) {
    throw new ConfigError(
      'ERR_TLS_KEY_PERMISSIONS',
      `private key file "${path}" has group or world access (mode ${mode.toString(8).padStart(4, '0')}). ` +
        'File must have permissions u=rw (0600) or less if owned by the user running pgtunnel, ' +
        'or permissions u=rw,g=r (0640) or less if owned by root. Fix with: chmod 600 ' +
        JSON.stringify(path),
    );
  }
}

/**
 * Reads and, if needed, decrypts the key. `isReload` with an encrypted key and no
 * reload-capable passphrase command fails, as in PostgreSQL, so the old key stays in use.
 */
export function loadPrivateKey(
  path: string,
  passphraseCommand: string,
  options: { isReload: boolean; commandSupportsReload: boolean },
): LoadedKey {
  checkKeyFilePermissions(path);
  const pem = readFileSync(path);
  if (!isEncrypted(pem)) {
    checkKey(pem, undefined, path);
    return { pem, passphrase: undefined };
  }
  if (passphraseCommand === '') {
    throw new ConfigError(
      'ERR_TLS_PASSPHRASE',
      `private key file "${path}" is encrypted: set ssl_passphrase_command to a command that prints its passphrase`,
    );
  }
  if (options.isReload && !options.commandSupportsReload) {
    throw new ConfigError(
      'ERR_TLS_PASSPHRASE',
      `private key file "${path}" is encrypted and ssl_passphrase_command_supports_reload is off: the key cannot be reloaded`,
    );
  }
  const passphrase = runPassphraseCommand(passphraseCommand);
  checkKey(pem, passphrase, path);
  return { pem, passphrase };
}

function isEncrypted(pem: Buffer): boolean {
  const text = pem.toString('latin1');
  return text.includes('ENCRYPTED PRIVATE KEY') || text.includes('Proc-Type: 4,ENCRYPTED');
}

function checkKey(pem: Buffer, passphrase: string | undefined, path: string): void {
  try {
    createPrivateKey(passphrase === undefined ? { key: pem } : { key: pem, passphrase });
  } catch (error) {
    const reason =
      passphrase !== undefined
        ? 'the passphrase from ssl_passphrase_command is wrong, or the file is damaged'
        : describeError(error);
    throw new ConfigError(
      'ERR_TLS_CREDENTIALS',
      `could not load private key file "${path}": ${reason}`,
    );
  }
}

/** Runs the command through the shell, as PostgreSQL does; the first output line is the passphrase. */
function runPassphraseCommand(command: string): string {
  const expanded = command
    .replaceAll('%%', '\0')
    .replaceAll('%p', `'${PASSPHRASE_PROMPT}'`)
    .replaceAll('\0', '%');
  let output: string;
  try {
    output = execFileSync('/bin/sh', ['-c', expanded], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30_000,
    });
  } catch (error) {
    const status = (error as { status?: number }).status;
    throw new ConfigError(
      'ERR_TLS_PASSPHRASE',
      `ssl_passphrase_command "${command}" failed${status === undefined ? '' : ` with exit code ${status}`}`,
    );
  }
  return output.split(/\r?\n/)[0] ?? '';
}
