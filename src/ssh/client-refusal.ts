// Tells a local client of a forward, in PostgreSQL's terms, why no channel could be had.
// libpq opens with SSLRequest (sslmode=prefer, psql's default) or GSSENCRequest, and since
// 17.2/16.6/15.10 it no longer shows an error sent in answer to those ("server sent an error
// response during SSL exchange"). So they are declined with 'N', and the FATAL answers the
// StartupMessage that follows, where every client prints it.
import type { Socket } from 'node:net';
import { fatal } from '../protocol/backend-error.js';
import { SqlState } from '../protocol/codes.js';
import { negotiateStartup } from '../startup/negotiate-startup.js';
import { endWithReply } from '../startup/refusal.js';

/** How long a refused client has to send its packets, and to take the answer. */
export const REFUSAL_TIMEOUT_MS = 5_000;

/**
 * Sends the FATAL after any SSL/GSSAPI negotiation (declined, as on a server with ssl off),
 * then closes. A client that breaks the protocol gets PostgreSQL's answer instead, and direct
 * TLS is closed: nothing readable can be said without a certificate. Never throws.
 */
export async function refuseClient(
  socket: Socket,
  message: string,
  timeoutMs = REFUSAL_TIMEOUT_MS,
): Promise<void> {
  if (socket.destroyed) return;
  socket.on('error', () => {}); // a client that resets is simply gone
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  const outcome = await negotiateStartup(socket, { tlsAvailable: false });
  if (outcome.kind === 'startup') {
    const answer = fatal(
      SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
      `pgtunnel ssh: ${message}`,
    );
    await endWithReply(outcome.stream, answer);
  } else if (outcome.kind === 'cancel') {
    // A CancelRequest has no answer.
    await endWithReply(outcome.stream);
  }
}
