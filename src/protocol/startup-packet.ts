// Decodes the first packet(s) a client sends: SSLRequest, GSSENCRequest, CancelRequest or
// StartupMessage. Pure: bytes in, values out. Mirrors ProcessStartupPacket() in PostgreSQL's
// src/backend/tcop/backend_startup.c, including its limits and error wording.
import { MAX_STARTUP_PACKET_LENGTH, RequestCode, SqlState, type SqlStateCode } from './codes.js';

export type StartupPacket =
  | { kind: 'ssl-request' }
  | { kind: 'gssenc-request' }
  | { kind: 'cancel'; processId: number; secretKey: Buffer }
  | {
      kind: 'startup';
      protocolMajor: number;
      protocolMinor: number;
      parameters: Map<string, string>;
    };

/** A packet PostgreSQL would refuse, with the SQLSTATE and message it would send. */
export class StartupPacketError extends Error {
  constructor(
    readonly sqlstate: SqlStateCode,
    message: string,
  ) {
    super(message);
    this.name = 'StartupPacketError';
  }
}

/**
 * Length of the first packet once its 4-byte header is available, validated as PostgreSQL
 * does before reading the body; undefined while fewer than 4 bytes are buffered.
 */
export function startupPacketLength(buffer: Buffer): number | undefined {
  if (buffer.length < 4) return undefined;
  const length = buffer.readUInt32BE(0);
  if (length < 8 || length > MAX_STARTUP_PACKET_LENGTH) {
    throw new StartupPacketError(SqlState.PROTOCOL_VIOLATION, 'invalid length of startup packet');
  }
  return length;
}

/** Decodes one complete first packet (including its length word). */
export function decodeStartupPacket(packet: Buffer): StartupPacket {
  const code = packet.readUInt32BE(4);
  if (code === RequestCode.SSL_REQUEST) return { kind: 'ssl-request' };
  if (code === RequestCode.GSSENC_REQUEST) return { kind: 'gssenc-request' };
  if (code === RequestCode.CANCEL_REQUEST) {
    // Protocol 3.2 (PostgreSQL 18) allows secret keys of up to 256 bytes.
    if (packet.length < 16 || packet.length > 12 + 256) {
      throw new StartupPacketError(SqlState.PROTOCOL_VIOLATION, 'invalid length of startup packet');
    }
    return {
      kind: 'cancel',
      processId: packet.readUInt32BE(8),
      secretKey: Buffer.from(packet.subarray(12)),
    };
  }
  const protocolMajor = code >>> 16;
  const protocolMinor = code & 0xffff;
  if (protocolMajor !== 3) {
    throw new StartupPacketError(
      SqlState.FEATURE_NOT_SUPPORTED,
      `unsupported frontend protocol ${protocolMajor}.${protocolMinor}: server supports 3.0 to 3.2`,
    );
  }
  return { kind: 'startup', protocolMajor, protocolMinor, parameters: decodeParameters(packet) };
}

/** Name/value pairs of a StartupMessage, as PostgreSQL reads them. */
function decodeParameters(packet: Buffer): Map<string, string> {
  const parameters = new Map<string, string>();
  let offset = 8;
  const invalid = () =>
    new StartupPacketError(
      SqlState.PROTOCOL_VIOLATION,
      'invalid startup packet layout: expected terminator as last byte',
    );
  while (offset < packet.length) {
    const nameEnd = packet.indexOf(0, offset);
    if (nameEnd === -1) throw invalid();
    if (nameEnd === offset) break; // the terminating empty name
    const valueEnd = packet.indexOf(0, nameEnd + 1);
    if (valueEnd === -1) throw invalid();
    parameters.set(
      packet.toString('utf8', offset, nameEnd),
      packet.toString('utf8', nameEnd + 1, valueEnd),
    );
    offset = valueEnd + 1;
  }
  if (offset !== packet.length - 1 || packet[packet.length - 1] !== 0) throw invalid();
  if (!parameters.get('user')) {
    throw new StartupPacketError(
      SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
      'no PostgreSQL user name specified in startup packet',
    );
  }
  return parameters;
}

/** The database a StartupMessage asks for: PostgreSQL defaults it to the user name. */
export function requestedDatabase(parameters: Map<string, string>): string {
  return parameters.get('database') || (parameters.get('user') ?? '');
}
