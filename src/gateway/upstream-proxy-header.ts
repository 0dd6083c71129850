// The PROXY protocol v2 header the gateway sends before each connection to the upstream when
// upstream_proxy_protocol = v2, so that the next gateway in a chain sees the real client
// (address, and in PP2_TYPE_SSL the TLS version and client certificate CN).
import type { Socket } from 'node:net';
import type { Settings } from '../config/settings.js';
import { unmappedAddress } from '../net/cidr.js';
import { encodeProxyV2 } from '../protocol/proxy-header.js';
import type { SessionRecord } from './gateway-sessions.js';

/**
 * The PROXY v2 header for this client's connections to the upstream when
 * upstream_proxy_protocol = v2: its address (the one a PROXY header in gave, if any), the
 * address it reached, and for TLS clients PP2_TYPE_SSL with the version and certificate CN.
 * Undefined when off. A unix-socket client is sent without an address (AF_UNSPEC).
 */
export function upstreamProxyHeader(
  settings: Settings,
  record: SessionRecord,
  socket: Socket,
): Buffer | undefined {
  if (settings.upstream_proxy_protocol === 'off') return undefined;
  const tls = record.tls;
  const ssl = tls
    ? {
        version: tls.version,
        cn: tls.client.presented ? tls.client.cn : undefined,
        certificateVerified: tls.client.verified,
      }
    : undefined;
  const local = unmappedAddress(socket.localAddress);
  if (record.transport === 'local' || record.clientPort === undefined || local === undefined) {
    return encodeProxyV2({ command: 'proxy', ...(ssl ? { ssl } : {}) });
  }
  return encodeProxyV2({
    command: 'proxy',
    source: {
      address: unmappedAddress(record.clientAddress) ?? record.clientAddress,
      port: record.clientPort,
    },
    destination: { address: local, port: socket.localPort ?? 0 },
    ...(ssl ? { ssl } : {}),
  });
}
