// What is wrong with a cipher suite, read from its OpenSSL name: a table of weaknesses, each
// with the name patterns that have it and how bad it is. Pure; tested as a table.
import type { TlsVersion } from './facts.js';

export type CipherWeakness =
  | 'null'
  | 'anonymous'
  | 'export'
  | 'rc4'
  | '3des'
  | 'no-forward-secrecy'
  | 'cbc-tls10';

export interface WeaknessSpec {
  /** Whether an accepted suite with this weakness is a failure or a warning. */
  severity: 'fail' | 'warn';
  /** One line: why a suite with this weakness matters. */
  why: string;
  applies: (name: string, version: TlsVersion) => boolean;
}

const AEAD = /GCM|CCM|CHACHA20|POLY1305/;
const FORWARD_SECRET = /^(ECDHE|DHE|EDH)-|^TLS_/;

export const CIPHER_WEAKNESSES: Record<CipherWeakness, WeaknessSpec> = {
  null: {
    severity: 'fail',
    why: 'NULL suites do not encrypt at all: passwords and data cross the network in clear',
    applies: (name) => /(^|-)NULL(-|$)/.test(name),
  },
  anonymous: {
    severity: 'fail',
    why: 'anonymous suites send no certificate, so any man in the middle can pose as the server',
    applies: (name) => /^(ADH|AECDH)-|^AECDH|-anon-/.test(name),
  },
  export: {
    severity: 'fail',
    why: 'export-grade suites use keys short enough to break in minutes (FREAK, Logjam)',
    applies: (name) => /(^|-)EXP(ORT)?\d*-/.test(name),
  },
  rc4: {
    severity: 'fail',
    why: 'RC4 has practical plaintext-recovery attacks (RFC 7465 forbids it)',
    applies: (name) => name.includes('RC4'),
  },
  '3des': {
    severity: 'fail',
    why: '3DES and DES have 64-bit blocks (Sweet32) or tiny keys',
    applies: (name) => /(^|-)(DES|DES-CBC3|EDH-RSA-DES|DES-CBC)(-|$)|DES-CBC3|3DES/.test(name),
  },
  'no-forward-secrecy': {
    severity: 'warn',
    why: 'without forward secrecy, whoever gets the server key later can decrypt recorded sessions',
    applies: (name) => !FORWARD_SECRET.test(name),
  },
  'cbc-tls10': {
    severity: 'warn',
    why: 'CBC suites under TLS 1.0/1.1 are open to BEAST and padding-oracle attacks',
    applies: (name, version) => (version === 'TLSv1' || version === 'TLSv1.1') && !AEAD.test(name),
  },
};

export const CIPHER_WEAKNESS_ORDER = Object.keys(CIPHER_WEAKNESSES) as CipherWeakness[];

/** Every weakness of one suite under one version. */
export function cipherWeaknesses(name: string, version: TlsVersion): CipherWeakness[] {
  return CIPHER_WEAKNESS_ORDER.filter((weakness) =>
    CIPHER_WEAKNESSES[weakness].applies(name, version),
  );
}
