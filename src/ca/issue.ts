// Building certificates and CRLs in memory: no file I/O here, so the CA store and the test PKI
// share exactly the same certificate contents.
import { PgTunnelError } from '../errors.js';
import type { KeyType } from './keys.js';
import { generateKeyPair, signingAlgorithm } from './keys.js';
import { type CertificateKind, DEFAULT_CRL_DAYS, profileExtensions } from './profiles.js';
import { newSerial } from './serial.js';
import { type CryptoKey, type CryptoKeyPair, x509 } from './x509.js';

const DAY_MS = 86_400_000;
/**
 * Certificates and CRLs start slightly in the past so a peer whose clock runs behind still
 * accepts them: OpenSSL rejects every certificate while a CRL's thisUpdate lies in its future.
 */
const BACKDATE_MS = 5 * 60_000;
/** The last instant X.509 can express (GeneralizedTime 99991231235959Z, RFC 5280 §4.1.2.5). */
const LAST_X509_TIME = Date.UTC(9999, 11, 31, 23, 59, 59);

/**
 * `now + days`, refusing a validity that X.509 cannot encode (or a Date cannot hold). Exported so
 * callers can refuse bad `--days` before they touch the disk.
 */
export function daysFrom(now: number, days: number, what: 'certificate' | 'CRL'): Date {
  const end = now + days * DAY_MS;
  if (!Number.isFinite(end) || end > LAST_X509_TIME) {
    throw new PgTunnelError(
      'ERR_USAGE',
      `--days ${days} would make the ${what} end after 9999-12-31, the last date X.509 can express; give fewer days`,
    );
  }
  return new Date(end);
}

/** A subject alternative name: a DNS name or an IP address. */
export interface SubjectAltName {
  type: 'dns' | 'ip';
  value: string;
}

/** A CA able to sign: its certificate and private key, and the key's type. */
export interface Signer {
  cert: x509.X509Certificate;
  key: CryptoKey;
  keyType: KeyType;
}

/** What to put in a new certificate. */
export interface CertificateRequest {
  kind: CertificateKind;
  /** Subject common name: the host name for servers, the PostgreSQL user name for clients. */
  commonName: string;
  /** Optional organization (O=) in the subject. */
  organization?: string | undefined;
  /** DNS names and IP addresses; servers need at least their host name here. */
  sans?: SubjectAltName[] | undefined;
  keyType: KeyType;
  /** Validity start; defaults to five minutes ago. */
  notBefore?: Date | undefined;
  /** Validity end; defaults to `days` after now, and never later than the issuer's own end. */
  notAfter?: Date | undefined;
  days: number;
  /** Hex serial; a fresh random one when absent. */
  serial?: string | undefined;
}

/** A freshly made certificate with its key pair. */
export interface IssuedCertificate {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
  keyType: KeyType;
}

function subjectName(request: CertificateRequest): x509.JsonName {
  const name: x509.JsonName = [];
  if (request.organization) name.push({ O: [request.organization] });
  name.push({ CN: [request.commonName] });
  return name;
}

function validity(request: CertificateRequest, issuer?: x509.X509Certificate) {
  const now = Date.now();
  const notBefore = request.notBefore ?? new Date(now - BACKDATE_MS);
  let notAfter = request.notAfter ?? daysFrom(now, request.days, 'certificate');
  // A certificate outliving its issuer fails verification the day the issuer expires.
  if (issuer && request.notAfter === undefined && notAfter > issuer.notAfter) {
    notAfter = issuer.notAfter;
  }
  return { notBefore, notAfter };
}

/**
 * Creates a certificate: self-signed when `issuer` is absent (a root CA), otherwise signed by
 * the issuer, with subject and authority key identifiers linking the two.
 */
export async function createCertificate(
  request: CertificateRequest,
  issuer?: Signer,
): Promise<IssuedCertificate> {
  const keys = await generateKeyPair(request.keyType);
  const sans = (request.sans ?? []).map((san) => ({ type: san.type, value: san.value }));
  const extensions = profileExtensions(request.kind, request.keyType, sans);
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(keys.publicKey));
  const serialNumber = request.serial ?? newSerial();
  const { notBefore, notAfter } = validity(request, issuer?.cert);

  if (!issuer) {
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey));
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber,
      name: subjectName(request),
      notBefore,
      notAfter,
      keys,
      signingAlgorithm: signingAlgorithm(request.keyType),
      extensions,
    });
    return { cert, keys, keyType: request.keyType };
  }

  extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuer.cert.publicKey));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber,
    subject: subjectName(request),
    // The issuer's encoded name, byte for byte: chain building compares names as DER.
    issuer: issuer.cert.subjectName,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: issuer.key,
    signingAlgorithm: signingAlgorithm(issuer.keyType),
    extensions,
  });
  return { cert, keys, keyType: request.keyType };
}

/** One revoked certificate as a CRL lists it. */
export interface RevokedEntry {
  serial: string;
  revokedAt: Date;
}

/** Creates the CRL a CA publishes for the certificates it signed and then revoked. */
export async function createCrl(
  signer: Signer,
  revoked: RevokedEntry[],
  options: { days?: number; now?: Date } = {},
): Promise<x509.X509Crl> {
  const now = (options.now ?? new Date()).getTime();
  const thisUpdate = new Date(now - BACKDATE_MS);
  const nextUpdate = daysFrom(now, options.days ?? DEFAULT_CRL_DAYS, 'CRL');
  return x509.X509CrlGenerator.create({
    issuer: signer.cert.subjectName,
    thisUpdate,
    nextUpdate,
    signingKey: signer.key,
    signingAlgorithm: signingAlgorithm(signer.keyType),
    extensions: [await x509.AuthorityKeyIdentifierExtension.create(signer.cert.publicKey)],
    entries: revoked.map((entry) => ({
      serialNumber: entry.serial,
      revocationDate: entry.revokedAt,
    })),
  });
}
