// Reads one length-prefixed first packet (SSLRequest, GSSENCRequest, CancelRequest or
// StartupMessage) from a socket, leaving the socket paused. Bytes that arrived after the
// packet are returned too: after an SSLRequest they mean the client pipelined plaintext.
import type { Duplex } from 'node:stream';
import { startupPacketLength } from '../protocol/startup-packet.js';

export interface FirstPacket {
  packet: Buffer;
  /** Bytes received after the packet. */
  extra: Buffer;
}

/** The peer closed before sending a whole packet: PostgreSQL closes silently in this case. */
export class IncompletePacketError extends Error {
  constructor() {
    super('the client closed the connection before sending a complete startup packet');
    this.name = 'IncompletePacketError';
  }
}

export function readFirstPacket(
  socket: Duplex,
  initial: Buffer = Buffer.alloc(0),
): Promise<FirstPacket> {
  return new Promise((resolve, reject) => {
    let buffered = initial;
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
    };
    const tryComplete = (): boolean => {
      let length: number | undefined;
      try {
        length = startupPacketLength(buffered);
      } catch (error) {
        cleanup();
        socket.pause();
        reject(error);
        return true;
      }
      if (length === undefined || buffered.length < length) return false;
      cleanup();
      socket.pause();
      resolve({ packet: buffered.subarray(0, length), extra: buffered.subarray(length) });
      return true;
    };
    const onData = (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      tryComplete();
    };
    const onEnd = () => {
      cleanup();
      reject(new IncompletePacketError());
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    if (tryComplete()) return;
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onError);
    socket.resume();
  });
}
