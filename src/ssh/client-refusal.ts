// Tells a local client of a forward, in PostgreSQL's terms, why no channel could be had.
// libpq opens with SSLRequest (sslmode=prefer, psql's default) or GSSENCRequest, and since
// 17.2/16.6/15.10 it no longer shows an error sent in answer to those ("server sent an error
// response during SSL exchange"). So they are declined with 'N', and the FATAL answers the
// StartupMessage that follows, where every client prints it.
import type { Socket } from 'node:net';
import { readUntil } from '../net/read-bytes.js';
import { readStartupPacket } from '../net/read-startup-packet.js';
import { fatal } from '../protocol/backend-error.js';
import { SqlState, TLS_HANDSHAKE_RECORD } from '../protocol/codes.js';
import { type StartupPacket, StartupPacketError } from '../protocol/startup-packet.js';

/** How long a refused client has to send its packets, and to take the answer. */
export const REFUSAL_TIMEOUT_MS = 5_000;

/** Sends the FATAL after any SSL/GSSAPI negotiation, then closes. Never throws. */
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
  const answer = fatal(
    SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
    `pgtunnel ssh: ${message}`,
  );
  const declined = new Set<string>();
  try {
    for (;;) {
      const first = await readUntil(socket, (bytes) => bytes.length >= 1);
      if (first[0] === TLS_HANDSHAKE_RECORD) {
        // Direct TLS (sslnegotiation=direct): nothing readable can be said without a certificate.
        socket.destroy();
        return;
      }
      socket.unshift(first);
      const kind = await readKind(socket);
      if ((kind === 'ssl-request' || kind === 'gssenc-request') && !declined.has(kind)) {
        declined.add(kind);
        socket.write('N');
        continue;
      }
      // A CancelRequest has no answer; anything else, a malformed packet too, gets the reason.
      finish(socket, kind === 'cancel' ? undefined : answer);
      return;
    }
  } catch {
    // The client went away or stayed silent: nobody is left to tell.
    socket.destroy();
  }
}

/** The kind of the client's next packet, undefined for one PostgreSQL would refuse. */
async function readKind(socket: Socket): Promise<StartupPacket['kind'] | undefined> {
  try {
    const { rest, decoded } = await readStartupPacket(socket);
    if (rest.length > 0) socket.unshift(rest);
    return decoded.kind;
  } catch (error) {
    if (error instanceof StartupPacketError) return undefined;
    throw error;
  }
}

function finish(socket: Socket, data: Buffer | undefined): void {
  socket.resume(); // read and drop what the client still sends, so closing does not reset it
  if (data) socket.end(data);
  else socket.end();
}
