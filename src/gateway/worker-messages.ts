// What the primary and its workers say to each other over the IPC channel. Every type is
// prefixed so that these messages run beside the admin endpoint's and prom-client's.
import { deserialize, serialize } from 'node:v8';
import type { TicketKeys } from '../tls/ticket-keys.js';
import type { ConfigSnapshot } from './config-snapshot.js';

export type ToWorker =
  /** The configuration to start with (contents, not paths) and the TLS ticket keys. */
  | { type: 'pgtunnel:start'; snapshot: ConfigSnapshot; ticketKeys: TicketKeys }
  /** Build this generation and say whether it built; do not serve it yet. */
  | { type: 'pgtunnel:prepare'; snapshot: ConfigSnapshot }
  /** Serve the generation prepared before. */
  | { type: 'pgtunnel:commit'; generation: number }
  /** Drop the generation prepared before: another worker could not build it. */
  | { type: 'pgtunnel:abort'; generation: number }
  | { type: 'pgtunnel:ticket-keys'; ticketKeys: TicketKeys }
  | { type: 'pgtunnel:shutdown'; mode: 'smart' | 'fast' };

export type ToPrimary =
  /** The worker listens for messages: it may be sent `start`. */
  | { type: 'pgtunnel:hello' }
  | { type: 'pgtunnel:ready'; generation: number }
  | { type: 'pgtunnel:start-failed'; error: string }
  | { type: 'pgtunnel:prepared'; generation: number; ok: boolean; error?: string }
  | { type: 'pgtunnel:committed'; generation: number };

/**
 * A message whose Buffers and RegExps JSON would lose (a configuration snapshot, ticket keys),
 * v8-serialized inside a JSON message. The channel itself stays JSON: it carries one hand-off
 * per client connection, and JSON costs less per small message than v8 serialization.
 */
export interface PackedMessage {
  type: 'pgtunnel:packed';
  body: string;
}

export function packForWorker(message: ToWorker): ToWorker | PackedMessage {
  if (!('snapshot' in message) && !('ticketKeys' in message)) return message;
  return { type: 'pgtunnel:packed', body: serialize(message).toString('base64') };
}

export function unpackInWorker<T extends { type?: string }>(message: T | PackedMessage): T {
  if (message?.type !== 'pgtunnel:packed') return message as T;
  return deserialize(Buffer.from((message as PackedMessage).body, 'base64')) as T;
}
