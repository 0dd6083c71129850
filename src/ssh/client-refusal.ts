// Tells a local client of a forward, in PostgreSQL's terms, why no channel could be had.
// libpq opens with SSLRequest (sslmode=prefer, psql's default) or GSSENCRequest, and since
// 17.2/16.6/15.10 it no longer shows an error sent in answer to those ("server sent an error
// response during SSL exchange"). So they are declined with 'N', and the FATAL answers the
// StartupMessage that follows, where every client prints it.
import type { Socket } from 'node:net';
import { readUntil } from '../net/read-bytes.js';
import { fatal } from '../protocol/backend-error.js';
import { SqlState, TLS_HANDSHAKE_RECORD } from '../protocol/codes.js';
import {
  decodeStartupPacket,
  type StartupPacket,
  startupPacketLength,
} from '../protocol/startup-packet.js';

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
  let pending: Buffer = Buffer.alloc(0);
  const declined = new Set<string>();
  try {
    for (;;) {
      pending = await readPacket(socket, pending);
      if (pending[0] === TLS_HANDSHAKE_RECORD) {
        // Direct TLS (sslnegotiation=direct): nothing readable can be said without a certificate.
        socket.destroy();
        return;
      }
      const length = packetLength(pending) ?? pending.length;
      const packet = decode(pending.subarray(0, length));
      pending = pending.subarray(length);
      const kind = packet?.kind;
      if ((kind === 'ssl-request' || kind === 'gssenc-request') && !declined.has(kind)) {
        declined.add(kind);
        socket.write('N');
        continue;
      }
      // A CancelRequest has no answer; anything else gets the reason.
      finish(socket, kind === 'cancel' ? undefined : answer);
      return;
    }
  } catch {
    // The client went away or stayed silent: nobody is left to tell.
    socket.destroy();
  }
}

/** Reads until `pending` holds one whole first packet (or the start of a TLS record). */
async function readPacket(socket: Socket, pending: Buffer): Promise<Buffer> {
  if (complete(pending)) return pending;
  const more = await readUntil(socket, (bytes) => complete(Buffer.concat([pending, bytes])));
  return Buffer.concat([pending, more]);
}

function complete(bytes: Buffer): boolean {
  if (bytes.length === 0) return false;
  if (bytes[0] === TLS_HANDSHAKE_RECORD) return true;
  const length = packetLength(bytes);
  return length === undefined ? bytes.length >= 4 : bytes.length >= length;
}

/** The packet's length, undefined while unknown or when it is not a valid one. */
function packetLength(bytes: Buffer): number | undefined {
  try {
    return startupPacketLength(bytes);
  } catch {
    return undefined;
  }
}

function decode(packet: Buffer): StartupPacket | undefined {
  try {
    return packet.length >= 8 ? decodeStartupPacket(packet) : undefined;
  } catch {
    return undefined;
  }
}

function finish(socket: Socket, data: Buffer | undefined): void {
  socket.resume(); // read and drop what the client still sends, so closing does not reset it
  if (data) socket.end(data);
  else socket.end();
}
