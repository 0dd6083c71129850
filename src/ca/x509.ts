// Loads @peculiar/x509 with its prerequisites: reflect-metadata must run before the library's
// decorators are evaluated, and the library must use Node's webcrypto as its provider.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

/** Node's webcrypto, which signs and generates every CA key. */
export const crypto = webcrypto;

/** WebCrypto types, named as the DOM names them (this project compiles without the DOM lib). */
export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;
export type KeyAlgorithmParams =
  | webcrypto.RsaHashedKeyGenParams
  | webcrypto.EcKeyGenParams
  | webcrypto.Algorithm;
export type SignatureAlgorithm = webcrypto.Algorithm | webcrypto.EcdsaParams;

export { x509 };
