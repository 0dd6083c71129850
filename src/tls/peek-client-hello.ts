// Reads the first TLS record of a connection (the ClientHello) without consuming it: the bytes
// go back to the socket for the TLS server to read, so that a server can be chosen by what the
// hello offers (its server name, its session ticket).
import type { Socket } from 'node:net';
import { firstRecordLength } from './client-hello.js';

/** The ClientHello's first record (or what arrived before the client stopped sending). */
export function peekClientHello(raw: Socket): Promise<Buffer> {
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0);
    const done = () => {
      raw.off('data', onData);
      raw.off('end', done);
      raw.off('close', done);
      raw.pause();
      if (buffered.length > 0 && !raw.destroyed) raw.unshift(buffered);
      resolve(buffered);
    };
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const needed = firstRecordLength(buffered);
      if (needed === undefined || buffered.length >= needed) done();
    };
    raw.on('data', onData);
    raw.once('end', done);
    raw.once('close', done);
    // The negotiation may have left the socket paused; the hello must be read.
    raw.resume();
  });
}
