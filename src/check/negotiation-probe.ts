// How the server answers the first packet of a session: SSLRequest, GSSENCRequest, and a TLS
// ClientHello sent right away (direct TLS, PostgreSQL 17+) with and without ALPN `postgresql`.
import { ALPN_POSTGRESQL } from '../protocol/codes.js';
import { encodeGssEncRequest, encodeSslRequest } from '../protocol/frontend.js';
import type { Answer, NegotiationFacts } from './facts.js';
import { firstAnswer } from './startup-probe.js';

/** The user named by startups sent only to see whether a session gets anywhere. */
export const PROBE_STARTUP_USER = 'pgtunnel_check';

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
      async (outcome, signal) => {
        if (!outcome.ok) return { answer: 'refused' as const, detail: outcome.error };
        const alpn = outcome.socket.alpnProtocol;
        // PostgreSQL 17+ completes a handshake without ALPN and only then hangs up: whether
        // the session is usable shows in the answer to a StartupMessage.
        const answer = await firstAnswer(
          outcome.socket,
          PROBE_STARTUP_USER,
          PROBE_STARTUP_USER,
          signal,
        );
        if (answer.kind === 'failed' || (answer.kind === 'error' && /ALPN/i.test(answer.message))) {
          return {
            answer: 'refused' as const,
            detail: `handshake completed, then ${answer.kind === 'failed' ? answer.detail : answer.message}`,
          };
        }
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
