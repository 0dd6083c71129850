// Loading the CA levels' signing keys: each certificate with its private key, decrypted with the
// passphrase (asked for at most once), checked to belong together, and kept for the command.
import { X509Certificate as NodeCertificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { PgTunnelError } from '../errors.js';
import type { Signer } from './issue.js';
import { importPrivateKeyPem, isEncryptedKeyPem } from './keys.js';
import type { CaLayout, CaLevel } from './layout.js';
import { parseCertificates } from './pem.js';

/** Where the passphrase for encrypted CA keys comes from. */
export interface PassphraseOptions {
  /** Passphrase that encrypts new CA keys and decrypts existing ones. Never logged. */
  passphrase?: string | undefined;
  /**
   * Asked (once) when a CA key turns out to be encrypted and no `passphrase` was given, e.g. a
   * prompt on a terminal. The answer then also encrypts any new CA key.
   */
  askPassphrase?: ((keyFile: string) => Promise<string>) | undefined;
}

export class CaSigners {
  readonly #layout: CaLayout;
  readonly #passphrase: string | undefined;
  readonly #askPassphrase: PassphraseOptions['askPassphrase'];
  #asked: Promise<string> | undefined;
  readonly #loaded = new Map<CaLevel, Signer>();

  constructor(layout: CaLayout, options: PassphraseOptions) {
    if (options.passphrase === '') {
      throw new PgTunnelError('ERR_CA_PASSPHRASE', 'the CA passphrase is empty');
    }
    this.#layout = layout;
    this.#passphrase = options.passphrase;
    this.#askPassphrase = options.askPassphrase;
  }

  /** Remembers a CA level just created, so it is not read back from disk. */
  set(level: CaLevel, signer: Signer): void {
    this.#loaded.set(level, signer);
  }

  clear(): void {
    this.#loaded.clear();
  }

  /** The passphrase for a new CA key: the given one, or the one typed for an existing key. */
  async forNewKey(): Promise<string | undefined> {
    return this.#passphrase ?? (await this.#asked);
  }

  /** The signer of a CA level, read from disk once. */
  async get(level: CaLevel): Promise<Signer> {
    const cached = this.#loaded.get(level);
    if (cached) return cached;
    const paths = this.#layout.level(level);
    const [cert] = parseCertificates(await readFile(paths.cert, 'utf8'), paths.cert);
    if (!cert) throw new PgTunnelError('ERR_CA_DAMAGED', `${paths.cert} holds no PEM certificate`);
    const keyPem = await readFile(paths.key, 'utf8').catch((error: unknown) => {
      throw new PgTunnelError(
        'ERR_CA_MISSING',
        `cannot read the ${level} CA key ${paths.key}: ${(error as Error).message}`,
        { cause: error },
      );
    });
    const { key, type, object } = await importPrivateKeyPem(
      keyPem,
      paths.key,
      await this.#passphraseFor(keyPem, paths.key),
    );
    // A key from another CA would sign certificates and CRLs that nothing can verify.
    if (!new NodeCertificate(Buffer.from(cert.rawData)).checkPrivateKey(object)) {
      throw new PgTunnelError(
        'ERR_CA_DAMAGED',
        `${paths.key} is not the private key of ${paths.cert}; restore the ${level} CA's key from a backup`,
      );
    }
    const signer: Signer = { cert, key, keyType: type };
    this.#loaded.set(level, signer);
    return signer;
  }

  /** The signer of a CA level that is about to sign a certificate: it must not have expired. */
  async forIssuing(level: CaLevel): Promise<Signer> {
    const signer = await this.get(level);
    // Everything an expired CA signed would fail verification at once.
    if (signer.cert.notAfter.getTime() > Date.now()) return signer;
    const fix =
      level === 'root'
        ? 'start over with `pgtunnel ca init --force`'
        : 'create a new one with `pgtunnel ca intermediate --force`';
    throw new PgTunnelError(
      'ERR_CA_EXPIRED',
      `the ${level} CA (${this.#layout.level(level).cert}) expired on ${signer.cert.notAfter.toISOString()} and can no longer sign; ${fix}`,
    );
  }

  /** The given passphrase or, for an encrypted key, the asked one (once, even in parallel). */
  async #passphraseFor(keyPem: string, keyFile: string): Promise<string | undefined> {
    if (this.#passphrase !== undefined || !isEncryptedKeyPem(keyPem) || !this.#askPassphrase) {
      return this.#passphrase;
    }
    this.#asked ??= this.#askPassphrase(keyFile);
    return this.#asked;
  }
}
