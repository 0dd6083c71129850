// Encoders for the frontend packets pgtunnel itself sends upstream: SSLRequest,
// CancelRequest and StartupMessage.
import { PROTOCOL_3_0, RequestCode } from './codes.js';

function specialRequest(code: number): Buffer {
  const packet = Buffer.alloc(8);
  packet.writeUInt32BE(8, 0);
  packet.writeUInt32BE(code, 4);
  return packet;
}

export function encodeSslRequest(): Buffer {
  return specialRequest(RequestCode.SSL_REQUEST);
}

export function encodeGssEncRequest(): Buffer {
  return specialRequest(RequestCode.GSSENC_REQUEST);
}

export function encodeCancelRequest(processId: number, secretKey: Buffer): Buffer {
  const packet = Buffer.alloc(12 + secretKey.length);
  packet.writeUInt32BE(packet.length, 0);
  packet.writeUInt32BE(RequestCode.CANCEL_REQUEST, 4);
  packet.writeUInt32BE(processId, 8);
  secretKey.copy(packet, 12);
  return packet;
}

export function encodeStartupMessage(
  parameters: Iterable<[string, string]>,
  protocol: number = PROTOCOL_3_0,
): Buffer {
  const parts: Buffer[] = [Buffer.alloc(8)];
  for (const [name, value] of parameters) {
    parts.push(Buffer.from(`${name}\0${value}\0`, 'utf8'));
  }
  parts.push(Buffer.from([0]));
  const packet = Buffer.concat(parts);
  packet.writeUInt32BE(packet.length, 0);
  packet.writeUInt32BE(protocol, 4);
  return packet;
}
