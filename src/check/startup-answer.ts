// Classifies the first message a server sends back to a StartupMessage: an authentication
// request (which method, which SASL mechanisms) or an ErrorResponse. Pure.
import { decodeErrorFields } from '../protocol/backend-error.js';
import { AuthRequest, BackendMessage } from '../protocol/codes.js';
import type { Message } from '../protocol/message-reader.js';
import { saslMechanisms } from '../protocol/sasl.js';
import type { StartupAnswer } from './facts.js';

const METHODS: Record<number, 'ok' | 'cleartext' | 'md5' | 'sasl'> = {
  [AuthRequest.Ok]: 'ok',
  [AuthRequest.CleartextPassword]: 'cleartext',
  [AuthRequest.MD5Password]: 'md5',
  [AuthRequest.SASL]: 'sasl',
};

export function classifyStartupAnswer(message: Message): StartupAnswer {
  if (message.type === BackendMessage.Authentication && message.body.length >= 4) {
    const method = METHODS[message.body.readInt32BE(0)] ?? 'other';
    if (method === 'sasl')
      return { kind: 'authentication', method, mechanisms: saslMechanisms(message) ?? [] };
    return { kind: 'authentication', method };
  }
  if (message.type === BackendMessage.ErrorResponse) {
    const fields = decodeErrorFields(message.body);
    return { kind: 'error', sqlstate: fields.get('C') ?? '', message: fields.get('M') ?? '' };
  }
  return {
    kind: 'failed',
    detail: `unexpected message type "${String.fromCharCode(message.type)}"`,
  };
}
