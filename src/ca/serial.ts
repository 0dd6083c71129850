// Certificate serial numbers: 16 random bytes, positive, never reused within one CA directory.
import { randomBytes } from 'node:crypto';
import { PgTunnelError } from '../errors.js';

/**
 * A new serial as lower-case hex (32 digits). The top bit is cleared so the DER INTEGER is
 * positive, and the next bit is set so it keeps all 16 bytes (RFC 5280 §4.1.2.2 allows up to 20).
 */
export function newSerial(isTaken: (serial: string) => boolean = () => false): string {
  for (let attempt = 0; attempt < 8; attempt++) {
    const bytes = randomBytes(16);
    bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
    const serial = bytes.toString('hex');
    if (!isTaken(serial)) return serial;
  }
  // 126 random bits colliding eight times means the random source is broken.
  throw new PgTunnelError('ERR_CA', 'could not draw an unused certificate serial number');
}

/** Normalizes a user-given serial ("0A:1B...", "0x0a1b", upper case) to lower-case hex. */
export function normalizeSerial(value: string): string {
  const hex = value
    .trim()
    .toLowerCase()
    .replace(/^0x/, '')
    .replace(/[:\s-]/g, '');
  if (!/^[0-9a-f]+$/.test(hex)) {
    throw new PgTunnelError('ERR_USAGE', `"${value}" is not a hexadecimal serial number`);
  }
  return hex.replace(/^0+(?=.)/, '');
}
