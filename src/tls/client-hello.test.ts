// The ticket key name in a ClientHello, for TLS 1.2 session_ticket and TLS 1.3
// pre_shared_key offers, and nothing for hellos without a ticket or cut short.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstRecordLength, offeredServerName, offeredTicketKeyName } from './client-hello.js';

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const u24 = (n: number) => Buffer.from([n >> 16, (n >> 8) & 0xff, n & 0xff]);
const extension = (type: number, data: Buffer) =>
  Buffer.concat([u16(type), u16(data.length), data]);

function clientHello(extensions: Buffer[]): Buffer {
  const all = Buffer.concat(extensions);
  const body = Buffer.concat([
    u16(0x0303),
    Buffer.alloc(32, 7), // random
    Buffer.from([32]),
    Buffer.alloc(32, 9), // session_id
    u16(4),
    Buffer.from([0x13, 0x01, 0x13, 0x02]),
    Buffer.from([1, 0]),
    u16(all.length),
    all,
  ]);
  const handshake = Buffer.concat([Buffer.from([1]), u24(body.length), body]);
  return Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), u16(handshake.length), handshake]);
}

const name = Buffer.alloc(16, 0xab);
const ticket = Buffer.concat([name, Buffer.alloc(80, 1)]);
const serverName = extension(0x0000, Buffer.from('000c00000973657276657231', 'hex'));

describe('offeredTicketKeyName', () => {
  const cases: Array<[string, Buffer, Buffer | undefined]> = [
    ['TLS 1.2 session_ticket', clientHello([serverName, extension(0x0023, ticket)]), name],
    [
      'TLS 1.3 pre_shared_key',
      clientHello([
        serverName,
        extension(
          0x0029,
          Buffer.concat([
            u16(2 + ticket.length + 4),
            u16(ticket.length),
            ticket,
            Buffer.alloc(4),
            u16(33),
            Buffer.alloc(33),
          ]),
        ),
      ]),
      name,
    ],
    [
      'an empty session_ticket (asks for one)',
      clientHello([extension(0x0023, Buffer.alloc(0))]),
      undefined,
    ],
    ['no extensions', clientHello([]), undefined],
    ['cut short', clientHello([extension(0x0023, ticket)]).subarray(0, 60), undefined],
    ['not TLS', Buffer.from('GET / HTTP/1.1\r\n'), undefined],
  ];
  for (const [label, bytes, expected] of cases) {
    it(label, () => assert.deepEqual(offeredTicketKeyName(bytes), expected));
  }
});

describe('firstRecordLength', () => {
  it('reads the record header, asks for 5 bytes first, and rejects other protocols', () => {
    const hello = clientHello([]);
    assert.equal(firstRecordLength(hello), hello.length);
    assert.equal(firstRecordLength(hello.subarray(0, 2)), 5);
    assert.equal(firstRecordLength(Buffer.from('GET / HTTP/1.1')), undefined);
  });
});

describe('offeredServerName', () => {
  const host = Buffer.from('db-a.test');
  const entry = Buffer.concat([Buffer.from([0]), u16(host.length), host]);
  const sni = extension(0x0000, Buffer.concat([u16(entry.length), entry]));
  it('reads the host name of server_name', () => {
    assert.equal(offeredServerName(clientHello([sni])), 'db-a.test');
    assert.equal(offeredServerName(clientHello([extension(0x0023, ticket), sni])), 'db-a.test');
  });
  it('is undefined without the extension, for other records, and for a hello cut short', () => {
    assert.equal(offeredServerName(clientHello([extension(0x0023, ticket)])), undefined);
    assert.equal(offeredServerName(Buffer.from('hello')), undefined);
    const full = clientHello([sni]);
    assert.equal(offeredServerName(full.subarray(0, full.length - 4)), undefined);
  });
});
