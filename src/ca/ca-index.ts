// The CA's record of issued certificates (index.json): load, validate the shape, save atomically,
// and a lock file so two commands never change the same CA directory at once.
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { PgTunnelError } from '../errors.js';
import type { KeyType } from './keys.js';
import type { CaLevel } from './layout.js';
import { writeAtomically } from './output-files.js';
import type { CertificateKind } from './profiles.js';
import { normalizeSerial } from './serial.js';
import type { x509 } from './x509.js';

/** One issued certificate as the index records it. */
export interface IndexEntry {
  /** Lower-case hex, no leading zeros stripped beyond what the certificate has. */
  serial: string;
  kind: CertificateKind;
  /** Distinguished name, e.g. `CN=db.example.com`. */
  subject: string;
  commonName: string;
  /** Subject alternative names as `DNS:name` / `IP:address`. */
  sans: string[];
  /** The CA level that signed it; a root signs itself. */
  issuer: CaLevel;
  keyType: KeyType;
  notBefore: string;
  notAfter: string;
  issuedAt: string;
  /** Set once revoked; revoked certificates appear in their issuer's CRL. */
  revokedAt?: string;
  /** Serial of the certificate this one renewed. */
  renewedFrom?: string;
  /**
   * Serial of the CA certificate that signed it (absent for a root). Once that CA is revoked,
   * for instance replaced with `intermediate --force`, this certificate no longer verifies.
   */
  issuerSerial?: string;
}

/** The whole index file. */
export interface CaIndex {
  format: 1;
  certificates: IndexEntry[];
}

export function emptyIndex(): CaIndex {
  return { format: 1, certificates: [] };
}

export async function loadIndex(path: string): Promise<CaIndex> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyIndex();
    throw new PgTunnelError('ERR_CA_FILE', `cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new PgTunnelError(
      'ERR_CA_DAMAGED',
      `${path} is not valid JSON: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const index = parsed as Partial<CaIndex>;
  if (index.format !== 1 || !Array.isArray(index.certificates)) {
    throw new PgTunnelError(
      'ERR_CA_DAMAGED',
      `${path} is not a pgtunnel CA index (expected {"format": 1, "certificates": [...]})`,
    );
  }
  return index as CaIndex;
}

export async function saveIndex(path: string, index: CaIndex): Promise<void> {
  await writeAtomically(path, `${JSON.stringify(index, null, 2)}\n`, 0o644);
}

/** How long a command waits for another one to release the CA directory. */
const LOCK_WAIT_MS = 10_000;
const LOCK_POLL_MS = 25;

/**
 * Runs `action` while holding the CA directory's lock file. A held lock is waited for (up to
 * ten seconds); a lock left behind by a process that no longer exists is taken over.
 */
export async function withLock<T>(lockPath: string, action: () => Promise<T>): Promise<T> {
  await acquire(lockPath);
  try {
    return await action();
  } finally {
    await rm(lockPath, { force: true });
  }
}

async function acquire(lockPath: string): Promise<void> {
  const dir = dirname(lockPath);
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new PgTunnelError(
      'ERR_CA_FILE',
      `cannot create the CA directory ${dir}: ${(error as Error).message}; choose another --ca-dir, or create it with write permission for this user`,
      { cause: error },
    );
  }
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', 0o644);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new PgTunnelError(
          'ERR_CA_FILE',
          `cannot create ${lockPath}: ${(error as Error).message}; the CA directory must be writable by the user running pgtunnel ca (check its owner and mode)`,
          { cause: error },
        );
      }
    }
    const text = await readFile(lockPath, 'utf8').catch(() => undefined);
    const holder = Number.parseInt(text ?? '', 10);
    // An empty file is a lock being written right now; only a dead pid marks a stale lock.
    if (holder > 0 && !isAlive(holder)) {
      await rm(lockPath, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new PgTunnelError(
        'ERR_CA_BUSY',
        `the CA directory is in use by process ${holder || '(unknown)'} (${lockPath}); wait for it to finish, or remove the file if no pgtunnel command is running`,
      );
    }
    await delay(LOCK_POLL_MS);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The index entry for a certificate just made; `signer` is the issuing CA's certificate. */
export function entryFor(
  cert: x509.X509Certificate,
  kind: CertificateKind,
  issuer: CaLevel,
  keyType: KeyType,
  sans: string[],
  commonName: string,
  signer?: x509.X509Certificate,
): IndexEntry {
  const entry: IndexEntry = {
    serial: normalizeSerial(cert.serialNumber),
    kind,
    subject: cert.subject,
    commonName,
    sans,
    issuer,
    keyType,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    issuedAt: new Date().toISOString(),
  };
  if (signer) entry.issuerSerial = normalizeSerial(signer.serialNumber);
  return entry;
}

/**
 * The revoked CA above this certificate, if any: its own entry may be unrevoked while the CA
 * that signed it is, which makes it fail verification all the same.
 */
export function revokedIssuer(
  entries: readonly IndexEntry[],
  entry: IndexEntry,
): IndexEntry | undefined {
  const seen = new Set<string>();
  let current = entry;
  while (current.issuerSerial && !seen.has(current.issuerSerial)) {
    seen.add(current.issuerSerial);
    const issuer = entries.find((c) => c.serial === current.issuerSerial);
    if (!issuer) return undefined;
    if (issuer.revokedAt) return issuer;
    current = issuer;
  }
  return undefined;
}

/** The entry with this serial, or an error pointing at `ca list`. */
export function findEntry(index: CaIndex, serial: string, dir: string): IndexEntry {
  const entry = index.certificates.find((c) => c.serial === serial);
  if (!entry) {
    throw new PgTunnelError(
      'ERR_CA_UNKNOWN_SERIAL',
      `no certificate with serial ${serial} was issued by the CA in ${dir}; \`pgtunnel ca list\` shows the serials it knows`,
    );
  }
  return entry;
}
