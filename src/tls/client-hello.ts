// Reads the session ticket a TLS ClientHello offers for resumption (the TLS 1.2
// session_ticket extension, or the first TLS 1.3 pre_shared_key identity) and the name of the
// key it was issued under: OpenSSL's tickets begin with the 16-byte name of their key, as do
// node:tls ticket keys. Pure: bytes in, name out.

const RECORD_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
const EXTENSION_SESSION_TICKET = 0x0023;
const EXTENSION_PRE_SHARED_KEY = 0x0029;
export const TICKET_KEY_NAME_LENGTH = 16;

/** Bytes needed for the first TLS record, or undefined when `bytes` is not a handshake record. */
export function firstRecordLength(bytes: Buffer): number | undefined {
  if (bytes.length < 5) return bytes.length === 0 || bytes[0] === RECORD_HANDSHAKE ? 5 : undefined;
  if (bytes[0] !== RECORD_HANDSHAKE) return undefined;
  return 5 + bytes.readUInt16BE(3);
}

/** The key name of the ticket `bytes` (a ClientHello record) offers; undefined if none. */
export function offeredTicketKeyName(bytes: Buffer): Buffer | undefined {
  try {
    return readTicketKeyName(bytes);
  } catch {
    return undefined; // truncated or malformed: let the TLS stack answer it
  }
}

function readTicketKeyName(bytes: Buffer): Buffer | undefined {
  if (bytes[0] !== RECORD_HANDSHAKE || bytes[5] !== HANDSHAKE_CLIENT_HELLO) return undefined;
  let at = 5 + 4 + 2 + 32; // record header, handshake header, client_version, random
  at += 1 + byte(bytes, at); // session_id
  at += 2 + bytes.readUInt16BE(at); // cipher_suites
  at += 1 + byte(bytes, at); // compression_methods
  const end = at + 2 + bytes.readUInt16BE(at);
  at += 2;
  let ticket: Buffer | undefined;
  while (at + 4 <= end) {
    const type = bytes.readUInt16BE(at);
    const length = bytes.readUInt16BE(at + 2);
    const data = bytes.subarray(at + 4, at + 4 + length);
    if (type === EXTENSION_SESSION_TICKET && data.length > 0) ticket = data;
    if (type === EXTENSION_PRE_SHARED_KEY && data.length >= 4) {
      // identities<7..2^16-1>: the first identity<1..2^16-1> is the ticket
      ticket = data.subarray(4, 4 + data.readUInt16BE(2));
    }
    at += 4 + length;
  }
  return ticket && ticket.length >= TICKET_KEY_NAME_LENGTH
    ? ticket.subarray(0, TICKET_KEY_NAME_LENGTH)
    : undefined;
}

function byte(bytes: Buffer, at: number): number {
  const value = bytes[at];
  if (value === undefined) throw new RangeError('truncated ClientHello');
  return value;
}

const EXTENSION_SERVER_NAME = 0x0000;
const SERVER_NAME_HOST = 0x00;

/** The host name a ClientHello record sends in server_name (SNI); undefined if none. */
export function offeredServerName(bytes: Buffer): string | undefined {
  try {
    const data = extensionData(bytes, EXTENSION_SERVER_NAME);
    if (!data) return undefined;
    // server_name_list<1..2^16-1>: entries of name_type (1 byte) and HostName<1..2^16-1>
    const end = Math.min(data.length, 2 + data.readUInt16BE(0));
    let at = 2;
    while (at + 3 <= end) {
      const type = byte(data, at);
      const length = data.readUInt16BE(at + 1);
      if (type === SERVER_NAME_HOST && at + 3 + length <= end) {
        return data.subarray(at + 3, at + 3 + length).toString('latin1');
      }
      at += 3 + length;
    }
    return undefined;
  } catch {
    return undefined; // truncated or malformed: let the TLS stack answer it
  }
}

function extensionData(bytes: Buffer, wanted: number): Buffer | undefined {
  if (bytes[0] !== RECORD_HANDSHAKE || bytes[5] !== HANDSHAKE_CLIENT_HELLO) return undefined;
  let at = 5 + 4 + 2 + 32; // record header, handshake header, client_version, random
  at += 1 + byte(bytes, at); // session_id
  at += 2 + bytes.readUInt16BE(at); // cipher_suites
  at += 1 + byte(bytes, at); // compression_methods
  const end = Math.min(bytes.length, at + 2 + bytes.readUInt16BE(at));
  at += 2;
  while (at + 4 <= end) {
    const type = bytes.readUInt16BE(at);
    const length = bytes.readUInt16BE(at + 2);
    if (type === wanted) return bytes.subarray(at + 4, at + 4 + length);
    at += 4 + length;
  }
  return undefined;
}
