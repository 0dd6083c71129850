// Key pairs for the CA: generation per key type, PKCS#8 PEM export (optionally encrypted with a
// passphrase) and import back into webcrypto, with errors that say what to do.
import { createPrivateKey, webcrypto as crypto, type KeyObject } from 'node:crypto';
import { PgTunnelError } from '../errors.js';
// types only: the X.509 library is not loaded for key handling (`ca list` stays fast)
import type { CryptoKey, CryptoKeyPair, KeyAlgorithmParams, SignatureAlgorithm } from './x509.js';

/** Key algorithms the CA can issue. ECDSA P-256 is the default: small, fast, accepted everywhere. */
export const KEY_TYPES = ['ecdsa-p256', 'rsa2048', 'rsa3072', 'rsa4096', 'ed25519'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

export const DEFAULT_KEY_TYPE: KeyType = 'ecdsa-p256';

/** The webcrypto algorithm that generates and imports a key of this type. */
export function keyAlgorithm(type: KeyType): KeyAlgorithmParams {
  switch (type) {
    case 'ecdsa-p256':
      return { name: 'ECDSA', namedCurve: 'P-256' };
    case 'ed25519':
      return { name: 'Ed25519' };
    default:
      return {
        name: 'RSASSA-PKCS1-v1_5',
        hash: 'SHA-256',
        publicExponent: new Uint8Array([1, 0, 1]),
        modulusLength: rsaBits(type),
      };
  }
}

/** The signature algorithm a key of this type signs certificates and CRLs with. */
export function signingAlgorithm(type: KeyType): SignatureAlgorithm {
  switch (type) {
    case 'ecdsa-p256':
      return { name: 'ECDSA', hash: 'SHA-256' };
    case 'ed25519':
      return { name: 'Ed25519' };
    default:
      return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as SignatureAlgorithm;
  }
}

function rsaBits(type: KeyType): number {
  return Number(type.slice(3));
}

/** Parses a user-given key type, accepting a few common spellings. */
export function parseKeyType(value: string): KeyType {
  const normalized = value.toLowerCase().replace(/[^a-z0-9]/g, '');
  const aliases: Record<string, KeyType> = {
    ecdsap256: 'ecdsa-p256',
    ecdsa: 'ecdsa-p256',
    ec: 'ecdsa-p256',
    p256: 'ecdsa-p256',
    rsa: 'rsa2048',
    rsa2048: 'rsa2048',
    rsa3072: 'rsa3072',
    rsa4096: 'rsa4096',
    ed25519: 'ed25519',
  };
  const type = aliases[normalized];
  if (!type) {
    throw new PgTunnelError(
      'ERR_USAGE',
      `unknown key type "${value}"; use one of ${KEY_TYPES.join(', ')}`,
    );
  }
  return type;
}

export async function generateKeyPair(type: KeyType): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(keyAlgorithm(type), true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
}

/**
 * Exports a private key as PKCS#8 PEM. With a passphrase the key is encrypted (PBES2,
 * AES-256-CBC), which PostgreSQL, libpq and OpenSSL all read.
 */
export async function exportPrivateKeyPem(key: CryptoKey, passphrase?: string): Promise<string> {
  const der = Buffer.from(await crypto.subtle.exportKey('pkcs8', key));
  const object = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  if (passphrase === undefined) {
    return object.export({ type: 'pkcs8', format: 'pem' }) as string;
  }
  return object.export({
    type: 'pkcs8',
    format: 'pem',
    cipher: 'aes-256-cbc',
    passphrase,
  }) as string;
}

/** True when a PEM private key is encrypted and needs a passphrase to load. */
export function isEncryptedKeyPem(pem: string): boolean {
  return pem.includes('ENCRYPTED PRIVATE KEY') || pem.includes('Proc-Type: 4,ENCRYPTED');
}

/**
 * Loads a PEM private key into webcrypto for signing, decrypting it with `passphrase` when it is
 * encrypted. `label` names the key in error messages (a path, never the key itself). The Node
 * key object comes back too, so the caller can check the key against its certificate.
 */
export async function importPrivateKeyPem(
  pem: string,
  label: string,
  passphrase?: string,
): Promise<{ key: CryptoKey; type: KeyType; object: KeyObject }> {
  if (isEncryptedKeyPem(pem) && passphrase === undefined) {
    throw new PgTunnelError(
      'ERR_CA_PASSPHRASE',
      `${label} is encrypted; give its passphrase with --passphrase-file FILE (- reads standard input) or the PGTUNNEL_CA_PASSPHRASE environment variable`,
    );
  }
  let object: KeyObject;
  try {
    object = createPrivateKey(passphrase === undefined ? { key: pem } : { key: pem, passphrase });
  } catch (error) {
    if (isEncryptedKeyPem(pem)) {
      throw new PgTunnelError(
        'ERR_CA_PASSPHRASE',
        `wrong passphrase for ${label}: the key could not be decrypted`,
        { cause: error },
      );
    }
    throw new PgTunnelError(
      'ERR_CA_DAMAGED',
      `${label} is not a readable private key (damaged or not PEM); restore it from a backup`,
      { cause: error },
    );
  }
  const type = keyTypeOf(object, label);
  const der = object.export({ type: 'pkcs8', format: 'der' });
  const key = await crypto.subtle.importKey('pkcs8', der, keyAlgorithm(type), false, ['sign']);
  return { key, type, object };
}

/** The key type of a Node key object (private or public). */
export function keyTypeOf(object: KeyObject, label: string): KeyType {
  const details = object.asymmetricKeyDetails;
  switch (object.asymmetricKeyType) {
    case 'ec':
      if (details?.namedCurve === 'prime256v1') return 'ecdsa-p256';
      break;
    case 'ed25519':
      return 'ed25519';
    case 'rsa': {
      const bits = details?.modulusLength;
      if (bits === 2048 || bits === 3072 || bits === 4096) return `rsa${bits}`;
      break;
    }
  }
  throw new PgTunnelError(
    'ERR_CA_REFUSED',
    `${label} uses a key type the CA does not sign with (${describeKeyObject(object)}); use one of ${KEY_TYPES.join(', ')}`,
  );
}

/** A human description of a key: "ECDSA P-256", "RSA 2048", "Ed25519". */
export function describeKeyObject(object: KeyObject): string {
  const details = object.asymmetricKeyDetails;
  switch (object.asymmetricKeyType) {
    case 'ec':
      return `ECDSA ${curveName(details?.namedCurve)}`;
    case 'rsa':
      return `RSA ${details?.modulusLength ?? '?'}`;
    case 'rsa-pss':
      return `RSA-PSS ${details?.modulusLength ?? '?'}`;
    case 'ed25519':
      return 'Ed25519';
    case 'ed448':
      return 'Ed448';
    default:
      return object.asymmetricKeyType ?? 'unknown';
  }
}

function curveName(curve: string | undefined): string {
  const names: Record<string, string> = {
    prime256v1: 'P-256',
    secp384r1: 'P-384',
    secp521r1: 'P-521',
  };
  return (curve && names[curve]) ?? curve ?? '?';
}
