// A certificate authority kept in a directory: root and intermediate CAs, issued certificates,
// the index, and CRLs for every CA level. This is what `pgtunnel ca` and the test PKI drive.
import { readFile, rm, stat } from 'node:fs/promises';
import { PgTunnelError } from '../errors.js';
import {
  type CaIndex,
  entryFor,
  findEntry,
  type IndexEntry,
  loadIndex,
  saveIndex,
  withLock,
} from './ca-index.js';
import { listCertificates, requireCaLevel } from './ca-listing.js';
import { CaSigners, type PassphraseOptions } from './ca-signers.js';
import { createCertificate, createCrl, daysFrom } from './issue.js';
import { DEFAULT_KEY_TYPE, exportPrivateKeyPem, type KeyType } from './keys.js';
import { type CaLayout, type CaLevel, caLayout } from './layout.js';
import { type OutputFile, writeAtomically, writeOutputFiles } from './output-files.js';
import { certificatePem, crlPem, parseCertificates } from './pem.js';
import { DEFAULT_VALIDITY_DAYS } from './profiles.js';
import { formatSan, parseSans, serverSans } from './sans.js';
import { newSerial, normalizeSerial } from './serial.js';
import type { CryptoKey, x509 } from './x509.js';

/** Options shared by every operation on one CA directory: where passphrases come from. */
export type CaStoreOptions = PassphraseOptions;

/** Options for creating a CA level (`ca init`, `ca intermediate`). */
export interface CreateCaOptions {
  commonName?: string | undefined;
  organization?: string | undefined;
  keyType?: KeyType | undefined;
  days?: number | undefined;
  /** Explicit validity, mainly for tests (an expired intermediate). */
  notBefore?: Date | undefined;
  notAfter?: Date | undefined;
  /** Replace an existing CA at this level. */
  force?: boolean | undefined;
}

/** Options for issuing a server or client certificate. */
export interface IssueOptions {
  kind: 'server' | 'client';
  /** Host name (server) or PostgreSQL user name (client). */
  commonName: string;
  /** `DNS:name`, `IP:address` or bare values. */
  sans?: readonly string[] | undefined;
  /**
   * Add a server's CN to its SANs when missing (default true): libpq's verify-full ignores the
   * CN once any DNS SAN exists. Off only to build deliberately odd certificates in tests.
   */
  addCommonNameSan?: boolean | undefined;
  keyType?: KeyType | undefined;
  days?: number | undefined;
  /** Explicit validity, mainly for tests (an already expired certificate). */
  notBefore?: Date | undefined;
  notAfter?: Date | undefined;
  /** Where to write the certificate chain (leaf, then intermediate). */
  certFile: string;
  /** Where to write the private key (mode 0600). */
  keyFile: string;
  /** Also write the CA bundle here (libpq's root.crt). */
  rootFile?: string | undefined;
  force?: boolean | undefined;
  /** Serial of the certificate this one replaces, recorded in the index. */
  renewedFrom?: string | undefined;
}

/** What `issue` and `renew` produce. */
export interface IssueResult {
  entry: IndexEntry;
  certFile: string;
  keyFile: string;
  rootFile?: string | undefined;
}

/** Which certificate to act on: by serial number or by a certificate file. */
export type CertificateRef = { serial: string } | { certFile: string };

const MAX_CN_LENGTH = 64; // ub-common-name, RFC 5280 appendix A

export class CaStore {
  readonly layout: CaLayout;
  readonly #signers: CaSigners;

  constructor(dir: string, options: CaStoreOptions = {}) {
    this.layout = caLayout(dir);
    this.#signers = new CaSigners(this.layout, options);
  }

  /** Creates the root CA (`ca init`). With `force`, discards the whole previous CA. */
  async init(options: CreateCaOptions = {}): Promise<IndexEntry> {
    checkDays(options.days, 'certificate');
    const root = this.layout.level('root');
    if ((await exists(root.cert)) && !options.force) {
      throw new PgTunnelError(
        'ERR_CA_EXISTS',
        `a CA already exists in ${this.layout.dir} (${root.cert}); pass --force to replace it, which makes every certificate it issued untrusted`,
      );
    }
    return withLock(this.layout.lock, async () => {
      const index: CaIndex = { format: 1, certificates: [] };
      const keyType = options.keyType ?? DEFAULT_KEY_TYPE;
      const rootName = options.commonName ?? 'pgtunnel Root CA';
      const made = await createCertificate({
        kind: 'root',
        commonName: rootName,
        organization: options.organization,
        keyType,
        days: options.days ?? DEFAULT_VALIDITY_DAYS.root,
        notBefore: options.notBefore,
        notAfter: options.notAfter,
        serial: newSerial(),
      });
      if (options.force) {
        // A new root invalidates everything the old one signed: start from an empty CA.
        for (const path of [this.layout.level('intermediate').dir, this.layout.issuedDir]) {
          await rm(path, { recursive: true, force: true });
        }
      }
      this.#signers.clear();
      this.#signers.set('root', { cert: made.cert, key: made.keys.privateKey, keyType });
      const entry = entryFor(made.cert, 'root', 'root', keyType, [], rootName);
      index.certificates.push(entry);
      await this.#writeCaLevel('root', made.cert, made.keys.privateKey, options.force ?? false);
      await this.#publish(index);
      return entry;
    });
  }

  /** Creates the intermediate CA, signed by the root. Replacing one revokes the old one. */
  async createIntermediate(options: CreateCaOptions = {}): Promise<IndexEntry> {
    checkDays(options.days, 'certificate');
    const level = this.layout.level('intermediate');
    await this.#requireLevel('root');
    if ((await exists(level.cert)) && !options.force) {
      throw new PgTunnelError(
        'ERR_CA_EXISTS',
        `an intermediate CA already exists (${level.cert}); pass --force to replace it, which revokes it and every certificate it issued`,
      );
    }
    return withLock(this.layout.lock, async () => {
      const index = await loadIndex(this.layout.index);
      const root = await this.#signers.forIssuing('root');
      const keyType = options.keyType ?? DEFAULT_KEY_TYPE;
      const name = options.commonName ?? 'pgtunnel Intermediate CA';
      const made = await createCertificate(
        {
          kind: 'intermediate',
          commonName: name,
          organization: options.organization,
          keyType,
          days: options.days ?? DEFAULT_VALIDITY_DAYS.intermediate,
          notBefore: options.notBefore,
          notAfter: options.notAfter,
          serial: newSerial((s) => index.certificates.some((c) => c.serial === s)),
        },
        root,
      );
      const now = new Date().toISOString();
      for (const old of index.certificates) {
        if (old.kind === 'intermediate' && !old.revokedAt) old.revokedAt = now;
      }
      const entry = entryFor(made.cert, 'intermediate', 'root', keyType, [], name, root.cert);
      index.certificates.push(entry);
      this.#signers.set('intermediate', { cert: made.cert, key: made.keys.privateKey, keyType });
      await this.#writeCaLevel('intermediate', made.cert, made.keys.privateKey, true);
      await this.#publish(index);
      return entry;
    });
  }

  /** Issues a server or client certificate signed by the intermediate CA. */
  async issue(options: IssueOptions): Promise<IssueResult> {
    checkDays(options.days, 'certificate');
    const commonName = options.commonName.trim();
    if (commonName === '' || commonName.length > MAX_CN_LENGTH) {
      throw new PgTunnelError(
        'ERR_USAGE',
        `the common name must be 1 to ${MAX_CN_LENGTH} characters (got ${commonName.length})`,
      );
    }
    const sans =
      options.kind === 'server'
        ? serverSans(commonName, options.sans ?? [], options.addCommonNameSan !== false)
        : parseSans(options.sans ?? []);
    await this.#requireLevel('intermediate');
    return withLock(this.layout.lock, async () => {
      const index = await loadIndex(this.layout.index);
      const signer = await this.#signers.forIssuing('intermediate');
      const keyType = options.keyType ?? DEFAULT_KEY_TYPE;
      const made = await createCertificate(
        {
          kind: options.kind,
          commonName,
          sans,
          keyType,
          days: options.days ?? DEFAULT_VALIDITY_DAYS[options.kind],
          notBefore: options.notBefore,
          notAfter: options.notAfter,
          serial: newSerial((s) => index.certificates.some((c) => c.serial === s)),
        },
        signer,
      );
      const chain = certificatePem(made.cert) + certificatePem(signer.cert);
      const files: OutputFile[] = [
        { path: options.certFile, content: chain },
        {
          path: options.keyFile,
          content: await exportPrivateKeyPem(made.keys.privateKey),
          secret: true,
        },
      ];
      if (options.rootFile) {
        files.push({
          path: options.rootFile,
          content: await readFile(this.layout.caBundle, 'utf8'),
        });
      }
      await writeOutputFiles(files, options.force ?? false);
      const entry = entryFor(
        made.cert,
        options.kind,
        'intermediate',
        keyType,
        sans.map(formatSan),
        commonName,
        signer.cert,
      );
      if (options.renewedFrom) entry.renewedFrom = options.renewedFrom;
      await writeAtomically(this.layout.issued(entry.serial), certificatePem(made.cert), 0o644);
      index.certificates.push(entry);
      await saveIndex(this.layout.index, index);
      return {
        entry,
        certFile: options.certFile,
        keyFile: options.keyFile,
        rootFile: options.rootFile,
      };
    });
  }

  /**
   * Revokes a certificate and republishes the CRLs. Revoking an already revoked certificate
   * changes nothing and reports `alreadyRevoked`.
   */
  async revoke(ref: CertificateRef): Promise<{ entry: IndexEntry; alreadyRevoked: boolean }> {
    await this.#requireLevel('root');
    const serial = await this.#serialOf(ref);
    return withLock(this.layout.lock, async () => {
      const index = await loadIndex(this.layout.index);
      const entry = findEntry(index, serial, this.layout.dir);
      if (entry.kind === 'root') {
        throw new PgTunnelError(
          'ERR_CA_REFUSED',
          'a root CA cannot be revoked; stop trusting it by removing it from ssl_ca_file and sslrootcert, or start over with `pgtunnel ca init --force`',
        );
      }
      if (entry.revokedAt) return { entry, alreadyRevoked: true };
      entry.revokedAt = new Date().toISOString();
      await this.#publish(index);
      return { entry, alreadyRevoked: false };
    });
  }

  /** Rewrites the CRL of every CA level and the CRL bundle (`ca crl`). */
  async writeCrls(options: { days?: number | undefined } = {}): Promise<string[]> {
    checkDays(options.days, 'CRL');
    await this.#requireLevel('root');
    return withLock(this.layout.lock, async () => {
      return this.#publish(await loadIndex(this.layout.index), options.days);
    });
  }

  /** Every certificate in the index, oldest first. */
  list(): Promise<IndexEntry[]> {
    return listCertificates(this.layout);
  }

  /** Looks up one certificate by serial or file. */
  async find(ref: CertificateRef): Promise<IndexEntry> {
    await this.#requireLevel('root');
    return findEntry(
      await loadIndex(this.layout.index),
      await this.#serialOf(ref),
      this.layout.dir,
    );
  }

  /**
   * Issues a new certificate with the same subject and SANs as an existing server or client
   * certificate, and a new serial and key; with `revokeOld`, revokes the old one.
   */
  async renew(
    ref: CertificateRef,
    options: Omit<IssueOptions, 'kind' | 'commonName' | 'sans' | 'renewedFrom'> & {
      revokeOld?: boolean | undefined;
    },
  ): Promise<IssueResult> {
    const old = await this.find(ref);
    if (old.kind !== 'server' && old.kind !== 'client') {
      throw new PgTunnelError(
        'ERR_USAGE',
        `certificate ${old.serial} is the ${old.kind} CA; replace it with \`pgtunnel ca ${old.kind === 'root' ? 'init' : 'intermediate'} --force\` instead`,
      );
    }
    const result = await this.issue({
      ...options,
      kind: old.kind,
      commonName: old.commonName,
      sans: old.sans,
      keyType: options.keyType ?? old.keyType,
      renewedFrom: old.serial,
    });
    if (options.revokeOld) await this.revoke({ serial: old.serial });
    return result;
  }

  async #serialOf(ref: CertificateRef): Promise<string> {
    if ('serial' in ref) return normalizeSerial(ref.serial);
    let text: string;
    try {
      text = await readFile(ref.certFile, 'utf8');
    } catch (error) {
      throw new PgTunnelError(
        'ERR_CA_FILE',
        `cannot read ${ref.certFile}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    const [cert] = parseCertificates(text, ref.certFile);
    if (!cert)
      throw new PgTunnelError('ERR_CA_DAMAGED', `${ref.certFile} holds no PEM certificate`);
    return normalizeSerial(cert.serialNumber);
  }

  async #requireLevel(level: CaLevel): Promise<void> {
    await requireCaLevel(this.layout, level);
  }

  async #writeCaLevel(
    level: CaLevel,
    cert: x509.X509Certificate,
    key: CryptoKey,
    force: boolean,
  ): Promise<void> {
    const paths = this.layout.level(level);
    await writeOutputFiles(
      [
        {
          path: paths.key,
          content: await exportPrivateKeyPem(key, await this.#signers.forNewKey()),
          secret: true,
        },
        { path: paths.cert, content: certificatePem(cert) },
      ],
      force,
    );
  }

  /**
   * Writes the index, the issued copies of CA certificates, the CA bundle, and a fresh CRL for
   * each CA level plus the CRL bundle. CRLs are signed before the index is saved, so a wrong
   * passphrase leaves the directory unchanged. Returns the CRL files written.
   */
  async #publish(index: CaIndex, crlDays?: number): Promise<string[]> {
    const levels: CaLevel[] = ['root'];
    if (await exists(this.layout.level('intermediate').cert)) levels.push('intermediate');
    const signers = await Promise.all(levels.map((level) => this.#signers.get(level)));
    const crls: string[] = [];
    for (const [i, level] of levels.entries()) {
      const signer = signers[i]!;
      const revoked = index.certificates
        .filter((c) => c.issuer === level && c.kind !== 'root' && c.revokedAt)
        .map((c) => ({ serial: c.serial, revokedAt: new Date(c.revokedAt!) }));
      crls.push(crlPem(await createCrl(signer, revoked, { days: crlDays })));
    }
    await saveIndex(this.layout.index, index);
    for (const signer of signers) {
      const serial = normalizeSerial(signer.cert.serialNumber);
      await writeAtomically(this.layout.issued(serial), certificatePem(signer.cert), 0o644);
    }
    await writeAtomically(
      this.layout.caBundle,
      signers.map((s) => certificatePem(s.cert)).join(''),
      0o644,
    );
    const written: string[] = [];
    for (const [i, level] of levels.entries()) {
      const path = this.layout.level(level).crl;
      await writeAtomically(path, crls[i]!, 0o644);
      written.push(path);
    }
    await writeAtomically(this.layout.crlBundle, crls.join(''), 0o644);
    written.push(this.layout.crlBundle);
    return written;
  }
}

/** Refuses an impossible `--days` before anything is created or locked. */
function checkDays(days: number | undefined, what: 'certificate' | 'CRL'): void {
  if (days !== undefined) daysFrom(Date.now(), days, what);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
