// PROXY protocol decoding as a table of bytes (hex) against the decoded header or the error,
// following haproxy doc/proxy-protocol.txt; then the version 2 encoder against the decoder.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  crc32c,
  decodeProxyHeader,
  encodeProxyV2,
  PP2_TYPE,
  type ProxyHeaderDecode,
  ProxyHeaderError,
} from './proxy-header.js';

/** Hex with spaces allowed, for readable rows. */
const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const ascii = (text: string) => Buffer.from(text, 'latin1');
const SIG = '0d0a0d0a 000d0a51 5549540a';

/** Rows: input bytes, then the decode result (without TLV bodies) or an error message pattern. */
const DECODE_TABLE: Array<{
  name: string;
  input: Buffer;
  expect?: ReturnType<typeof summary>;
  error?: RegExp;
}> = [
  {
    name: 'v1 TCP4, client bytes after the line are not part of it',
    input: ascii('PROXY TCP4 192.0.2.5 198.51.100.1 56324 6432\r\n\x00\x00\x00\x08'),
    expect: {
      status: 'complete',
      length: 46,
      version: 1,
      command: 'proxy',
      source: '192.0.2.5:56324',
      destination: '198.51.100.1:6432',
    },
  },
  {
    name: 'v1 TCP6 is given in canonical (inet_ntop) form',
    input: ascii('PROXY TCP6 2001:db8:0:0:0:0:0:1 ::1 65535 0\r\n'),
    expect: {
      status: 'complete',
      length: 45,
      version: 1,
      command: 'proxy',
      source: '[2001:db8::1]:65535',
      destination: '[::1]:0',
    },
  },
  {
    name: 'v1 UNKNOWN carries no address (anything may follow it)',
    input: ascii('PROXY UNKNOWN ffff::1 whatever\r\n'),
    expect: { status: 'complete', length: 32, version: 1, command: 'proxy' },
  },
  {
    name: 'v1 line not finished yet',
    input: ascii('PROXY TCP4 192.0.2.5 19'),
    expect: { status: 'incomplete' },
  },
  { name: 'a prefix of "PROXY "', input: ascii('PRO'), expect: { status: 'incomplete' } },
  { name: 'empty input', input: Buffer.alloc(0), expect: { status: 'absent' } },
  { name: 'PostgreSQL SSLRequest', input: hex('00000008 04d2162f'), expect: { status: 'absent' } },
  { name: 'direct TLS ClientHello', input: hex('16030100f4'), expect: { status: 'absent' } },
  { name: 'looks like PROXY but is not', input: ascii('PROXIES'), expect: { status: 'absent' } },
  {
    name: 'v1 unknown protocol word',
    input: ascii('PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n'),
    error: /protocol "TCP5"; expected TCP4, TCP6 or UNKNOWN/,
  },
  {
    name: 'v1 double space',
    input: ascii('PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n'),
    error: /separated by single spaces/,
  },
  {
    name: 'v1 octal-looking IPv4 (010.1.1.1 must not become 8.1.1.1)',
    input: ascii('PROXY TCP4 010.1.1.1 5.6.7.8 1 2\r\n'),
    error: /"010\.1\.1\.1", which is not an IPv4 address/,
  },
  {
    name: 'v1 IPv6 address under TCP4',
    input: ascii('PROXY TCP4 ::1 5.6.7.8 1 2\r\n'),
    error: /"::1", which is not an IPv4 address/,
  },
  {
    name: 'v1 port with a leading zero',
    input: ascii('PROXY TCP4 1.2.3.4 5.6.7.8 06432 2\r\n'),
    error: /port "06432"; expected 0\.\.65535/,
  },
  {
    name: 'v1 port out of range',
    input: ascii('PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n'),
    error: /port "65536"/,
  },
  {
    name: 'v1 without CRLF within 107 bytes',
    input: ascii(`PROXY UNKNOWN ${'x'.repeat(100)}`),
    error: /not terminated by CRLF within 107 bytes/,
  },
  {
    name: 'v2 PROXY TCP over IPv4, no TLVs',
    input: hex(`${SIG} 21 11 000c c0000205 c6336401 dc04 1920 ff`),
    expect: {
      status: 'complete',
      length: 28,
      version: 2,
      command: 'proxy',
      source: '192.0.2.5:56324',
      destination: '198.51.100.1:6432',
    },
  },
  {
    name: 'v2 PROXY TCP over IPv6',
    input: hex(
      `${SIG} 21 21 0024 20010db8000000000000000000000001 00000000000000000000ffff7f000001 0050 1920`,
    ),
    expect: {
      status: 'complete',
      length: 52,
      version: 2,
      command: 'proxy',
      source: '[2001:db8::1]:80',
      destination: '[::ffff:127.0.0.1]:6432',
    },
  },
  {
    name: 'v2 LOCAL (a health check) has no address',
    input: hex(`${SIG} 20 00 0000`),
    expect: { status: 'complete', length: 16, version: 2, command: 'local' },
  },
  {
    name: 'v2 LOCAL skips whatever address block it carries',
    input: hex(`${SIG} 20 11 000c 00000000 00000000 0000 0000`),
    expect: { status: 'complete', length: 28, version: 2, command: 'local' },
  },
  {
    name: 'v2 PROXY with AF_UNSPEC: the real endpoints apply',
    input: hex(`${SIG} 21 00 0000`),
    expect: { status: 'complete', length: 16, version: 2, command: 'proxy' },
  },
  {
    name: 'v2 PROXY over AF_UNIX carries no IP address',
    input: hex(`${SIG} 21 31 00d8 ${'00'.repeat(216)}`),
    expect: { status: 'complete', length: 232, version: 2, command: 'proxy' },
  },
  {
    name: 'v2 signature, fixed part not complete',
    input: hex(SIG.slice(0, 20)),
    expect: { status: 'incomplete' },
  },
  {
    name: 'v2 addresses not all received',
    input: hex(`${SIG} 21 11 000c c0000205`),
    expect: { status: 'incomplete' },
  },
  { name: 'v2 version nibble 1', input: hex(`${SIG} 11 11 0000`), error: /followed by version 1/ },
  { name: 'v2 unknown command', input: hex(`${SIG} 22 11 0000`), error: /unknown command 0x2/ },
  {
    name: 'v2 unknown family',
    input: hex(`${SIG} 21 41 0000`),
    error: /unknown address family 0x4/,
  },
  { name: 'v2 unknown transport', input: hex(`${SIG} 21 13 0000`), error: /unknown transport 0x3/ },
  {
    name: 'v2 UDP is not a PostgreSQL connection',
    input: hex(`${SIG} 21 12 000c c0000205 c6336401 dc04 1920`),
    error: /datagram/,
  },
  {
    name: 'v2 AF_INET block too short',
    input: hex(`${SIG} 21 11 0008 c0000205 c6336401`),
    error: /too short for AF_INET addresses \(8 bytes, 12 needed\)/,
  },
  {
    name: 'v2 TLV longer than the header',
    input: hex(`${SIG} 21 11 0010 c0000205 c6336401 dc04 1920 04 0005 00`),
    error: /TLV 0x4 claims 5 bytes but only 1 remain/,
  },
  {
    name: 'v2 TLV header cut short',
    input: hex(`${SIG} 21 11 000e c0000205 c6336401 dc04 1920 04 00`),
    error: /ends inside a TLV header/,
  },
  {
    name: 'v2 CRC32C that does not match',
    input: hex(`${SIG} 21 11 0013 c0000205 c6336401 dc04 1920 03 0004 00000000`),
    error: /fails its CRC32C checksum/,
  },
  {
    name: 'v2 SSL TLV shorter than its fixed part',
    input: hex(`${SIG} 21 11 0010 c0000205 c6336401 dc04 1920 20 0001 01`),
    error: /SSL TLV is shorter/,
  },
];

function summary(result: ProxyHeaderDecode) {
  if (result.status !== 'complete') return { status: result.status };
  const { header } = result;
  const endpoint = (e: { address: string; port: number } | undefined) =>
    e === undefined
      ? undefined
      : `${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port}`;
  return {
    status: result.status,
    length: result.length,
    version: header.version,
    command: header.command,
    ...(header.source ? { source: endpoint(header.source) } : {}),
    ...(header.destination ? { destination: endpoint(header.destination) } : {}),
  };
}

describe('PROXY header decoding', () => {
  for (const row of DECODE_TABLE) {
    it(row.name, () => {
      if (row.error) {
        assert.throws(
          () => decodeProxyHeader(row.input),
          (error: unknown) => error instanceof ProxyHeaderError && row.error!.test(error.message),
        );
      } else {
        assert.deepEqual(summary(decodeProxyHeader(row.input)), row.expect);
      }
    });
  }

  it('reads the SSL TLV: client bits, verify result, version and CN', () => {
    const sslValue = hex(
      `07 00000000 21 0007 ${ascii('TLSv1.3').toString('hex')} 22 0005 ${ascii('alice').toString('hex')}`,
    );
    const length = 12 + 3 + sslValue.length;
    const input = hex(
      `${SIG} 21 11 ${length.toString(16).padStart(4, '0')} c0000205 c6336401 dc04 1920 20 ${sslValue.length.toString(16).padStart(4, '0')} ${sslValue.toString('hex')}`,
    );
    const result = decodeProxyHeader(input);
    assert.equal(result.status, 'complete');
    if (result.status !== 'complete') return;
    assert.deepEqual(result.header.ssl, { client: 7, verify: 0, version: 'TLSv1.3', cn: 'alice' });
    assert.deepEqual(
      result.header.tlvs.map((tlv) => tlv.type),
      [PP2_TYPE.SSL],
    );
  });

  it('accepts a CRC32C that matches (the checksum covers the header with the value zeroed)', () => {
    const zeroed = hex(`${SIG} 21 11 0013 c0000205 c6336401 dc04 1920 03 0004 00000000`);
    const withCrc = Buffer.from(zeroed);
    withCrc.writeUInt32BE(crc32c(zeroed), zeroed.length - 4);
    assert.equal(decodeProxyHeader(withCrc).status, 'complete');
  });

  it('computes CRC-32C (Castagnoli) as RFC 3720 gives it', () => {
    assert.equal(crc32c(ascii('123456789')), 0xe3069283);
    assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa);
  });
});

describe('PROXY v2 encoding (for a chain of gateways)', () => {
  it('writes the exact bytes for a PROXY over IPv4 without TLVs', () => {
    const bytes = encodeProxyV2({
      command: 'proxy',
      source: { address: '192.0.2.5', port: 56324 },
      destination: { address: '198.51.100.1', port: 6432 },
    });
    assert.equal(
      bytes.toString('hex'),
      hex(`${SIG} 21 11 000c c0000205 c6336401 dc04 1920`).toString('hex'),
    );
  });

  it('writes LOCAL with AF_UNSPEC and no payload', () => {
    assert.equal(
      encodeProxyV2({ command: 'local' }).toString('hex'),
      hex(`${SIG} 20 00 0000`).toString('hex'),
    );
  });

  it('carries the TLS version and client certificate CN in PP2_TYPE_SSL, read back by the decoder', () => {
    const bytes = encodeProxyV2({
      command: 'proxy',
      source: { address: '2001:db8::7', port: 50000 },
      destination: { address: '2001:db8::1', port: 5432 },
      ssl: { version: 'TLSv1.3', cn: 'alice', certificateVerified: true },
      tlvs: [{ type: PP2_TYPE.AUTHORITY, value: ascii('db-a.test') }],
    });
    const result = decodeProxyHeader(bytes);
    assert.equal(result.status, 'complete');
    if (result.status !== 'complete') return;
    assert.equal(result.length, bytes.length);
    assert.deepEqual(result.header.source, { address: '2001:db8::7', port: 50000 });
    assert.deepEqual(result.header.ssl, { client: 7, verify: 0, version: 'TLSv1.3', cn: 'alice' });
    assert.equal(result.header.tlvs[1]?.value.toString(), 'db-a.test');
  });

  it('says no certificate (client bits, verify not 0) when there is no CN', () => {
    const result = decodeProxyHeader(
      encodeProxyV2({
        command: 'proxy',
        source: { address: '10.0.0.1', port: 1 },
        destination: { address: '10.0.0.2', port: 2 },
        ssl: { version: 'TLSv1.2', certificateVerified: false },
      }),
    );
    assert.equal(result.status === 'complete' && result.header.ssl?.client, 1);
    assert.equal(result.status === 'complete' && result.header.ssl?.verify, 1);
  });

  it('sends an IPv4 end beside an IPv6 one as IPv4-mapped IPv6', () => {
    const result = decodeProxyHeader(
      encodeProxyV2({
        command: 'proxy',
        source: { address: '192.0.2.5', port: 1 },
        destination: { address: '::1', port: 2 },
      }),
    );
    assert.equal(result.status === 'complete' && result.header.source?.address, '::ffff:192.0.2.5');
  });

  it('refuses text that is not an IP address', () => {
    assert.throws(
      () =>
        encodeProxyV2({
          command: 'proxy',
          source: { address: 'db.example', port: 1 },
          destination: { address: '::1', port: 2 },
        }),
      ProxyHeaderError,
    );
  });
});
