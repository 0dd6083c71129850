// How the server answers the first packet of a session: SSLRequest, GSSENCRequest, and a TLS
// ClientHello sent right away (direct TLS, PostgreSQL 17+) with and without ALPN `postgresql`.
import { ALPN_POSTGRESQL } from '../protocol/codes.js';
import { encodeGssEncRequest, encodeSslRequest } from '../protocol/frontend.js';
import type { Answer, NegotiationFacts } from './facts.js';
import {
  describeBytes,
  handshake,
  type ProbeContext,
  ProbeFailure,
  readFirstBytes,
  withConnection,
} from './probe-connection.js';

/** Sends an 8-byte request and classifies the one-byte answer. */
async function requestAnswer<T extends string>(
  ctx: ProbeContext,
  request: Buffer,
  letters: readonly T[],
): Promise<Answer<T | 'other' | 'closed'>> {
  try {
    return await withConnection(ctx, async (socket, signal) => {
      socket.write(request);
      const bytes = await readFirstBytes(socket, 1, signal);
      const letter = String.fromCharCode(bytes[0] ?? 0) as T;
      if (bytes.length === 1 && letters.includes(letter)) return { answer: letter };
      return { answer: 'other' as const, detail: `answered ${describeBytes(bytes)}` };
    });
  } catch (error) {
    if (error instanceof ProbeFailure && error.kind !== 'unreachable') {
      return { answer: 'closed', detail: error.message };
    }
    throw error;
  }
}

export function probeSslRequest(ctx: ProbeContext): Promise<NegotiationFacts['sslRequest']> {
  return requestAnswer(ctx, encodeSslRequest(), ['S', 'N'] as const);
}

export function probeGssEncRequest(ctx: ProbeContext): Promise<NegotiationFacts['gssEncRequest']> {
  return requestAnswer(ctx, encodeGssEncRequest(), ['G', 'N'] as const);
}

/** A ClientHello as the first bytes, with or without ALPN `postgresql`. */
export async function probeDirectTls(
  ctx: ProbeContext,
  withAlpn: boolean,
): Promise<Answer<'accepted' | 'refused'>> {
  try {
    return await handshake(
      ctx,
      'direct',
      withAlpn ? { ALPNProtocols: [ALPN_POSTGRESQL] } : {},
      (outcome) => {
        if (!outcome.ok) return { answer: 'refused' as const, detail: outcome.error };
        const alpn = outcome.socket.alpnProtocol;
        return {
          answer: 'accepted' as const,
          detail: alpn ? `ALPN ${alpn} negotiated` : 'no ALPN protocol negotiated',
        };
      },
    );
  } catch (error) {
    if (error instanceof ProbeFailure && error.kind !== 'unreachable') {
      return { answer: 'refused', detail: error.message };
    }
    throw error;
  }
}
