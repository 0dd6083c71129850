// SSH public-key blobs as servers present them: the key type inside the blob, the SHA256
// fingerprint the way OpenSSH prints it, and which host-key algorithms can yield each key type.
import { createHash } from 'node:crypto';

/**
 * The key type named at the start of an SSH public-key blob (RFC 4253 §6.6: a `string`
 * holding the type, then type-specific fields), or undefined when the blob is malformed.
 */
export function keyBlobType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || blob.length < 4 + length) return undefined;
  const type = blob.toString('latin1', 4, 4 + length);
  return /^[\x21-\x7e]+$/.test(type) ? type : undefined;
}

/** `SHA256:<base64 without padding>`, exactly as `ssh` and `ssh-keygen -l` print it. */
export function fingerprintSha256(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The label ssh uses in messages: "ED25519", "ECDSA", "RSA", "DSA". */
export function keyTypeLabel(keyType: string): string {
  if (keyType.includes('ed25519')) return 'ED25519';
  if (keyType.startsWith('ecdsa-') || keyType.startsWith('sk-ecdsa-')) return 'ECDSA';
  if (keyType.startsWith('ssh-rsa') || keyType.startsWith('rsa-')) return 'RSA';
  if (keyType.startsWith('ssh-dss')) return 'DSA';
  return keyType;
}

/** Host-key algorithms ssh2 offers by default, most preferred first. */
export const DEFAULT_HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
] as const;

/** Host-key algorithms whose signatures come from a key of `keyType` (RSA has three). */
export function algorithmsForKeyType(keyType: string): string[] {
  if (keyType === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  return [keyType];
}

/**
 * The algorithm offer with the algorithms for already-known key types first. OpenSSH does the
 * same, so a server with several host keys presents the one known_hosts vouches for instead
 * of a new type that would look unknown.
 */
export function preferredHostKeyAlgorithms(knownKeyTypes: Iterable<string>): string[] {
  const supported = new Set<string>(DEFAULT_HOST_KEY_ALGORITHMS);
  const first: string[] = [];
  for (const type of knownKeyTypes) {
    for (const algorithm of algorithmsForKeyType(type)) {
      if (supported.has(algorithm) && !first.includes(algorithm)) first.push(algorithm);
    }
  }
  return [...first, ...DEFAULT_HOST_KEY_ALGORITHMS.filter((a) => !first.includes(a))];
}
