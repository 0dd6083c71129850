// The PROXY protocol header a TCP balancer (HAProxy `send-proxy`/`send-proxy-v2`, AWS NLB,
// Envoy) puts before the client's bytes to say who the client is: version 1 (one text line)
// and version 2 (binary, with TLVs), decoded from bytes; and version 2 encoded, for a gateway
// that passes the client on to another. Spec: haproxy doc/proxy-protocol.txt.
import { isIPv4, isIPv6, SocketAddress } from 'node:net';

/** "PROXY " opens a version 1 header (section 2.1). */
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** A version 1 line is at most 107 bytes, CRLF included (section 2.1). */
export const PROXY_V1_MAX_LENGTH = 107;
/** The 12-byte version 2 signature (section 2.2): it cannot start any valid text protocol. */
export const PROXY_V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);
const V2_FIXED_LENGTH = 16;

/** Version 2 TLV types (section 2.2.1 onwards). */
export const PP2_TYPE = {
  ALPN: 0x01,
  AUTHORITY: 0x02,
  CRC32C: 0x03,
  NOOP: 0x04,
  UNIQUE_ID: 0x05,
  SSL: 0x20,
  NETNS: 0x30,
} as const;

/** Sub-TLVs inside PP2_TYPE_SSL (section 2.2.5). */
export const PP2_SUBTYPE_SSL = {
  VERSION: 0x21,
  CN: 0x22,
  CIPHER: 0x23,
  SIG_ALG: 0x24,
  KEY_ALG: 0x25,
} as const;

/** Bits of the PP2_TYPE_SSL `client` field. */
export const PP2_CLIENT = {
  SSL: 0x01,
  CERT_CONN: 0x02,
  CERT_SESS: 0x04,
} as const;

/** One end of the proxied connection: a canonical IP text (`10.0.0.5`, `2001:db8::1`) and port. */
export interface ProxyEndpoint {
  address: string;
  port: number;
}

/** A type-length-value record of a version 2 header, kept as raw bytes. */
export interface ProxyTlv {
  type: number;
  value: Buffer;
}

/** What the PP2_TYPE_SSL TLV says about the client's TLS connection to the balancer. */
export interface ProxySslInfo {
  /** PP2_CLIENT_* bits: TLS used, certificate presented on this connection / in the session. */
  client: number;
  /** 0 when the client presented a certificate and it was verified. */
  verify: number;
  /** e.g. `TLSv1.3` (PP2_SUBTYPE_SSL_VERSION). */
  version?: string;
  /** The client certificate's Common Name (PP2_SUBTYPE_SSL_CN). */
  cn?: string;
  cipher?: string;
}

export interface ProxyHeader {
  version: 1 | 2;
  /**
   * `proxy`: relayed for a client, whose address follows. `local`: a connection the balancer
   * opened itself (a health check); the real endpoints apply (version 2 only).
   */
  command: 'proxy' | 'local';
  /**
   * The client (source) and the address it connected to (destination); undefined when the
   * header does not carry IP addresses (LOCAL, `PROXY UNKNOWN`, AF_UNSPEC, AF_UNIX): then the
   * receiver uses the real connection endpoints, as the spec says.
   */
  source?: ProxyEndpoint;
  destination?: ProxyEndpoint;
  tlvs: ProxyTlv[];
  /** Decoded from PP2_TYPE_SSL when present. */
  ssl?: ProxySslInfo;
}

export type ProxyHeaderDecode =
  /** The bytes cannot be the start of a PROXY header (e.g. a PostgreSQL packet). */
  | { status: 'absent' }
  /** A header may be starting: more bytes are needed. */
  | { status: 'incomplete' }
  /** `length` bytes form the header; anything after them is the client's. */
  | { status: 'complete'; header: ProxyHeader; length: number };

/** The bytes start like a PROXY header but break the spec. */
export class ProxyHeaderError extends Error {
  readonly code = 'ERR_PROXY_HEADER';
  constructor(message: string) {
    super(message);
    this.name = 'ProxyHeaderError';
  }
}

/** Decodes a PROXY header (version 1 or 2) at the start of `bytes`. Throws ProxyHeaderError. */
export function decodeProxyHeader(bytes: Uint8Array): ProxyHeaderDecode {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (startsLike(buffer, PROXY_V2_SIGNATURE)) {
    return buffer.length < V2_FIXED_LENGTH ? { status: 'incomplete' } : decodeV2(buffer);
  }
  if (startsLike(buffer, V1_PREFIX)) {
    return buffer.length < V1_PREFIX.length ? { status: 'incomplete' } : decodeV1(buffer);
  }
  return { status: 'absent' };
}

/** True when `buffer` and `signature` agree on their common length (and buffer is not empty). */
function startsLike(buffer: Buffer, signature: Buffer): boolean {
  const n = Math.min(buffer.length, signature.length);
  return n > 0 && buffer.subarray(0, n).equals(signature.subarray(0, n));
}

function decodeV1(buffer: Buffer): ProxyHeaderDecode {
  const end = buffer.subarray(0, PROXY_V1_MAX_LENGTH).indexOf('\r\n', 0, 'latin1');
  if (end === -1) {
    if (buffer.length >= PROXY_V1_MAX_LENGTH) {
      throw new ProxyHeaderError(
        `version 1 header is not terminated by CRLF within ${PROXY_V1_MAX_LENGTH} bytes`,
      );
    }
    return { status: 'incomplete' };
  }
  const length = end + 2;
  const line = buffer.subarray(V1_PREFIX.length, end).toString('latin1');
  const fields = line.split(' ');
  const protocol = fields[0];
  // "PROXY UNKNOWN" may carry anything up to the CRLF; the receiver ignores it (section 2.1).
  if (protocol === 'UNKNOWN') return { status: 'complete', header: v1Header(), length };
  if (protocol !== 'TCP4' && protocol !== 'TCP6') {
    throw new ProxyHeaderError(
      `version 1 header has protocol "${printable(protocol ?? '')}"; expected TCP4, TCP6 or UNKNOWN`,
    );
  }
  if (fields.length !== 5) {
    throw new ProxyHeaderError(
      'version 1 header must be "PROXY TCP4|TCP6 SOURCE DESTINATION SPORT DPORT" separated by single spaces',
    );
  }
  const [, source, destination, sourcePort, destinationPort] = fields as [
    string,
    string,
    string,
    string,
    string,
  ];
  const valid = protocol === 'TCP4' ? isIPv4 : isIPv6;
  for (const address of [source, destination]) {
    if (!valid(address)) {
      throw new ProxyHeaderError(
        `version 1 header has "${printable(address)}", which is not an ${protocol === 'TCP4' ? 'IPv4' : 'IPv6'} address`,
      );
    }
  }
  return {
    status: 'complete',
    header: v1Header(
      { address: canonical(source, protocol), port: v1Port(sourcePort) },
      { address: canonical(destination, protocol), port: v1Port(destinationPort) },
    ),
    length,
  };
}

function v1Header(source?: ProxyEndpoint, destination?: ProxyEndpoint): ProxyHeader {
  return {
    version: 1,
    command: 'proxy',
    ...(source ? { source } : {}),
    ...(destination ? { destination } : {}),
    tlvs: [],
  };
}

/** Decimal 0..65535 without leading zeros, as the spec writes them. */
function v1Port(text: string): number {
  if (!/^(0|[1-9]\d{0,4})$/.test(text) || Number(text) > 65535) {
    throw new ProxyHeaderError(`version 1 header has port "${printable(text)}"; expected 0..65535`);
  }
  return Number(text);
}

/** Address block sizes by family (section 2.2): INET, INET6, UNIX. */
const V2_FAMILIES = {
  0: { name: 'AF_UNSPEC', addressLength: 0 },
  1: { name: 'AF_INET', addressLength: 12 },
  2: { name: 'AF_INET6', addressLength: 36 },
  3: { name: 'AF_UNIX', addressLength: 216 },
} as const;

function decodeV2(buffer: Buffer): ProxyHeaderDecode {
  const versionCommand = buffer[12] ?? 0;
  const version = versionCommand >> 4;
  const command = versionCommand & 0x0f;
  if (version !== 2) {
    throw new ProxyHeaderError(`version 2 signature followed by version ${version}`);
  }
  if (command !== 0x0 && command !== 0x1) {
    throw new ProxyHeaderError(`version 2 header has unknown command 0x${command.toString(16)}`);
  }
  const familyTransport = buffer[13] ?? 0;
  const familyCode = familyTransport >> 4;
  const transport = familyTransport & 0x0f;
  const family = V2_FAMILIES[familyCode as keyof typeof V2_FAMILIES];
  if (family === undefined) {
    throw new ProxyHeaderError(
      `version 2 header has unknown address family 0x${familyCode.toString(16)}`,
    );
  }
  if (transport > 0x2) {
    throw new ProxyHeaderError(
      `version 2 header has unknown transport 0x${transport.toString(16)}`,
    );
  }
  const payloadLength = buffer.readUInt16BE(14);
  const length = V2_FIXED_LENGTH + payloadLength;
  if (buffer.length < length) return { status: 'incomplete' };
  const payload = buffer.subarray(V2_FIXED_LENGTH, length);

  // A LOCAL header's address block, whatever its family, is skipped (section 2.2).
  const isProxy = command === 0x1;
  const addressLength = isProxy ? family.addressLength : 0;
  if (payload.length < addressLength) {
    throw new ProxyHeaderError(
      `version 2 header is too short for ${family.name} addresses (${payload.length} bytes, ${addressLength} needed)`,
    );
  }
  const header: ProxyHeader = { version: 2, command: isProxy ? 'proxy' : 'local', tlvs: [] };
  if (isProxy && (familyCode === 0x1 || familyCode === 0x2)) {
    if (transport !== 0x1) {
      throw new ProxyHeaderError('version 2 header describes a datagram (UDP) connection');
    }
    const size = familyCode === 0x1 ? 4 : 16;
    header.source = {
      address: formatAddress(payload.subarray(0, size)),
      port: payload.readUInt16BE(size * 2),
    };
    header.destination = {
      address: formatAddress(payload.subarray(size, size * 2)),
      port: payload.readUInt16BE(size * 2 + 2),
    };
  }
  // With LOCAL, bytes after the fixed part may still be an address block plus TLVs; only a
  // PROXY header's TLVs are read.
  if (isProxy) {
    header.tlvs = decodeTlvs(payload.subarray(addressLength));
    checkCrc32c(buffer.subarray(0, length), header.tlvs, V2_FIXED_LENGTH + addressLength);
    const ssl = header.tlvs.find((tlv) => tlv.type === PP2_TYPE.SSL);
    if (ssl) header.ssl = decodeSslTlv(ssl.value);
  }
  return { status: 'complete', header, length };
}

function decodeTlvs(bytes: Buffer): ProxyTlv[] {
  const tlvs: ProxyTlv[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (offset + 3 > bytes.length) {
      throw new ProxyHeaderError('version 2 header ends inside a TLV header');
    }
    const type = bytes[offset] ?? 0;
    const length = bytes.readUInt16BE(offset + 1);
    const end = offset + 3 + length;
    if (end > bytes.length) {
      throw new ProxyHeaderError(
        `version 2 TLV 0x${type.toString(16)} claims ${length} bytes but only ${bytes.length - offset - 3} remain`,
      );
    }
    tlvs.push({ type, value: bytes.subarray(offset + 3, end) });
    offset = end;
  }
  return tlvs;
}

function decodeSslTlv(value: Buffer): ProxySslInfo {
  if (value.length < 5) {
    throw new ProxyHeaderError('version 2 SSL TLV is shorter than its 5 fixed bytes');
  }
  const info: ProxySslInfo = { client: value[0] ?? 0, verify: value.readUInt32BE(1) };
  for (const sub of decodeTlvs(value.subarray(5))) {
    const text = sub.value.toString('utf8');
    if (sub.type === PP2_SUBTYPE_SSL.VERSION) info.version = text;
    else if (sub.type === PP2_SUBTYPE_SSL.CN) info.cn = text;
    else if (sub.type === PP2_SUBTYPE_SSL.CIPHER) info.cipher = text;
  }
  return info;
}

/** A PP2_TYPE_CRC32C TLV must match the CRC32c of the header with its own value zeroed. */
function checkCrc32c(header: Buffer, tlvs: ProxyTlv[], tlvStart: number): void {
  const crcTlv = tlvs.find((tlv) => tlv.type === PP2_TYPE.CRC32C);
  if (!crcTlv) return;
  if (crcTlv.value.length !== 4) {
    throw new ProxyHeaderError('version 2 CRC32C TLV must be 4 bytes long');
  }
  const copy = Buffer.from(header);
  const valueAt = crcTlv.value.byteOffset - header.byteOffset;
  if (valueAt < tlvStart) throw new ProxyHeaderError('version 2 CRC32C TLV is misplaced');
  copy.fill(0, valueAt, valueAt + 4);
  if (crc32c(copy) !== crcTlv.value.readUInt32BE(0)) {
    throw new ProxyHeaderError('version 2 header fails its CRC32C checksum');
  }
}

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32C (Castagnoli), as PP2_TYPE_CRC32C uses. */
export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = (CRC32C_TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** What a gateway passing a client on says about it in a version 2 header. */
export interface ProxyV2Out {
  command: 'proxy' | 'local';
  /** Both IPv4 or both IPv6 (an IPv4 end beside an IPv6 one is sent IPv4-mapped). */
  source?: ProxyEndpoint;
  destination?: ProxyEndpoint;
  /** The client's TLS connection to this gateway, sent as PP2_TYPE_SSL. */
  ssl?: { version: string; cn?: string | undefined; certificateVerified: boolean };
  /** Further TLVs, written after the SSL one. */
  tlvs?: ProxyTlv[];
}

/** Encodes a version 2 header (for PROXY, with addresses; for LOCAL, with AF_UNSPEC). */
export function encodeProxyV2(out: ProxyV2Out): Buffer {
  let familyTransport = 0x00;
  let addresses = Buffer.alloc(0);
  if (out.command === 'proxy' && out.source && out.destination) {
    let source = addressBytes(out.source.address);
    let destination = addressBytes(out.destination.address);
    if (source.length !== destination.length) {
      source = source.length === 4 ? mappedIpv6(source) : source;
      destination = destination.length === 4 ? mappedIpv6(destination) : destination;
    }
    const ports = Buffer.alloc(4);
    ports.writeUInt16BE(out.source.port, 0);
    ports.writeUInt16BE(out.destination.port, 2);
    addresses = Buffer.concat([source, destination, ports]);
    familyTransport = source.length === 4 ? 0x11 : 0x21;
  }
  const tlvs: Buffer[] = [];
  if (out.ssl) {
    const fixed = Buffer.alloc(5);
    fixed[0] =
      PP2_CLIENT.SSL | (out.ssl.cn !== undefined ? PP2_CLIENT.CERT_CONN | PP2_CLIENT.CERT_SESS : 0);
    fixed.writeUInt32BE(out.ssl.certificateVerified ? 0 : 1, 1);
    const subs = [encodeTlv(PP2_SUBTYPE_SSL.VERSION, Buffer.from(out.ssl.version, 'utf8'))];
    if (out.ssl.cn !== undefined) {
      subs.push(encodeTlv(PP2_SUBTYPE_SSL.CN, Buffer.from(out.ssl.cn, 'utf8')));
    }
    tlvs.push(encodeTlv(PP2_TYPE.SSL, Buffer.concat([fixed, ...subs])));
  }
  for (const tlv of out.tlvs ?? []) tlvs.push(encodeTlv(tlv.type, tlv.value));
  const payload = Buffer.concat([addresses, ...tlvs]);
  if (payload.length > 0xffff) {
    throw new ProxyHeaderError('version 2 header would exceed 65535 bytes of addresses and TLVs');
  }
  const fixed = Buffer.alloc(V2_FIXED_LENGTH);
  PROXY_V2_SIGNATURE.copy(fixed, 0);
  fixed[12] = out.command === 'proxy' ? 0x21 : 0x20;
  fixed[13] = familyTransport;
  fixed.writeUInt16BE(payload.length, 14);
  return Buffer.concat([fixed, payload]);
}

function encodeTlv(type: number, value: Buffer): Buffer {
  if (value.length > 0xffff) throw new ProxyHeaderError(`TLV 0x${type.toString(16)} is too long`);
  const head = Buffer.alloc(3);
  head[0] = type;
  head.writeUInt16BE(value.length, 1);
  return Buffer.concat([head, value]);
}

/** 4 or 16 address bytes from IP text; throws for anything else. */
function addressBytes(text: string): Buffer {
  if (isIPv4(text)) return Buffer.from(text.split('.').map(Number));
  if (!isIPv6(text) || text.includes('%')) {
    throw new ProxyHeaderError(`"${text}" is not an IP address`);
  }
  const expand = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((piece) => {
          if (!piece.includes('.')) return [Number.parseInt(piece, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = piece.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const gap = text.indexOf('::');
  const head = expand(gap === -1 ? text : text.slice(0, gap));
  const tail = gap === -1 ? [] : expand(text.slice(gap + 2));
  const groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  const bytes = Buffer.alloc(16);
  for (const [i, group] of groups.entries()) bytes.writeUInt16BE(group, i * 2);
  return bytes;
}

function mappedIpv6(ipv4: Buffer): Buffer {
  return Buffer.concat([Buffer.alloc(10), Buffer.from([0xff, 0xff]), ipv4]);
}

/** Dotted IPv4, or IPv6 compressed the way inet_ntop() prints it. */
function formatAddress(bytes: Buffer): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return new SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}

function canonical(address: string, protocol: 'TCP4' | 'TCP6'): string {
  return protocol === 'TCP4' ? address : new SocketAddress({ address, family: 'ipv6' }).address;
}

/** Header bytes quoted in an error message: printable ASCII only, at most 40 characters. */
function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 40);
}
