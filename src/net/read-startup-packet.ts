// Reads a client's first packet (SSLRequest, GSSENCRequest, CancelRequest or StartupMessage)
// from a stream, for the client-side listeners (`pgtunnel connect`, `pgtunnel ssh` refusals).
import type { Duplex } from 'node:stream';
import {
  decodeStartupPacket,
  type StartupPacket,
  type StartupPacketError,
  startupPacketLength,
} from '../protocol/startup-packet.js';
import { readUntil } from './read-bytes.js';

/**
 * Reads one complete first packet; returns it decoded, with whatever followed it. Throws
 * StartupPacketError for a length or layout PostgreSQL would refuse, and StreamEndedError (or
 * the signal's reason) when the packet never arrives.
 */
export async function readStartupPacket(
  stream: Duplex,
  signal?: AbortSignal,
): Promise<{ packet: Buffer; rest: Buffer; decoded: StartupPacket }> {
  let lengthError: StartupPacketError | undefined;
  const received = await readUntil(
    stream,
    (bytes) => {
      try {
        const length = startupPacketLength(bytes);
        return length !== undefined && bytes.length >= length;
      } catch (error) {
        // stop reading; the error is raised below, outside the stream's event handler
        lengthError = error as StartupPacketError;
        return true;
      }
    },
    signal,
  );
  if (lengthError) throw lengthError;
  const length = startupPacketLength(received) ?? received.length;
  const packet = received.subarray(0, length);
  return { packet, rest: received.subarray(length), decoded: decodeStartupPacket(packet) };
}
