// TLS session-ticket keys on a schedule: a new key issues tickets from each rotation on, and
// the previous one still resumes the tickets it issued, so a rotation never costs a client its
// resumption. With workers the primary rotates and sends the keys to every worker, so a ticket
// resumes whichever worker the client reaches.
import { randomBytes } from 'node:crypto';

export interface TicketKeys {
  /** 48 bytes as node:tls wants them: key name, HMAC secret, AES key. */
  readonly current: Buffer;
  readonly previous: Buffer | undefined;
  /** Counts rotations from 0, for logs. */
  readonly rotation: number;
}

export function newTicketKeys(): TicketKeys {
  return { current: randomBytes(48), previous: undefined, rotation: 0 };
}

export function rotateTicketKeys(keys: TicketKeys): TicketKeys {
  return { current: randomBytes(48), previous: keys.current, rotation: keys.rotation + 1 };
}
