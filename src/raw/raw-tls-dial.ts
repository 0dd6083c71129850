// Raw mode's upstream (as stunnel's client mode): TLS from the first byte, no SSLRequest and
// no ALPN, with the sslmode's certificate checks, on each address of the host in turn.
import type { TLSSocket } from 'node:tls';
import { eachAddress } from '../libpq/addresses.js';
import { dialAddress } from '../libpq/transport.js';
import type { UpstreamTarget } from '../libpq/upstream-target.js';
import {
  prepareUpstreamTls,
  startUpstreamTls,
  type TlsEnvironment,
} from '../libpq/upstream-tls.js';
import { formatSocketAddress } from '../net/address.js';

/** A TLS connection opened without any PostgreSQL negotiation. */
export interface RawTlsConnection {
  socket: TLSSocket;
  /** For logs, e.g. "127.0.0.1:5432 (TLSv1.3)". */
  describe: string;
}

/** Opens the connection (require, verify-ca or verify-full checks); rejects with UpstreamError. */
export function openRawTlsConnection(
  target: UpstreamTarget,
  options: { signal?: AbortSignal; tlsEnvironment?: TlsEnvironment | undefined } = {},
): Promise<RawTlsConnection> {
  return eachAddress(target, { signal: options.signal }, async ({ address, signal }) => {
    const socket = await dialAddress(target, address, signal);
    try {
      const setup = prepareUpstreamTls(target, options.tlsEnvironment, { alpn: false });
      const tlsSocket = await startUpstreamTls(socket, target, setup, signal);
      return {
        socket: tlsSocket,
        describe: `${formatSocketAddress(address)} (${tlsSocket.getProtocol() ?? 'TLS'})`,
      };
    } catch (error) {
      socket.destroy();
      throw error;
    }
  });
}
