// Reads the certificate a PostgreSQL TLS endpoint presents (SSLRequest, then TLS), to check
// which certificate a gateway serves after a reload.
import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { encodeSslRequest } from '../../src/protocol/frontend.js';
import { openRaw } from './raw-client.js';

export async function presentedSerial(port: number, caFile: string): Promise<string> {
  const raw = await openRaw(port);
  raw.write(encodeSslRequest());
  const answer = await new Promise<Buffer>((resolve) => raw.once('data', resolve));
  if (answer.toString() !== 'S') throw new Error(`expected S, got ${answer.toString('hex')}`);
  const socket = tlsConnect({ socket: raw, servername: 'localhost', ca: readFileSync(caFile) });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  const serial = socket.getPeerCertificate().serialNumber;
  socket.destroy();
  return serial;
}
