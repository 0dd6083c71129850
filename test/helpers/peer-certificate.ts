// Reads the certificate a PostgreSQL TLS endpoint presents (SSLRequest, then TLS), to check
// which certificate a gateway serves after a reload.
import { openTlsSession } from './raw-client.js';

export async function presentedSerial(port: number, caFile: string): Promise<string> {
  const socket = await openTlsSession(port, caFile);
  const serial = socket.getPeerCertificate().serialNumber;
  socket.destroy();
  return serial;
}

/** The serial of the certificate served to a client sending `servername` (SNI), verified for it. */
export async function presentedSerialFor(
  port: number,
  caFile: string,
  servername: string,
): Promise<string> {
  const socket = await openTlsSession(port, caFile, { servername });
  const serial = socket.getPeerCertificate().serialNumber;
  socket.destroy();
  return serial;
}
