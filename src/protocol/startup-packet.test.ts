// First-packet decoding against PostgreSQL's rules and wording (backend_startup.c).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  encodeCancelRequest,
  encodeGssEncRequest,
  encodeSslRequest,
  encodeStartupMessage,
} from './frontend.js';
import {
  decodeStartupPacket,
  requestedDatabase,
  StartupPacketError,
  startupPacketLength,
} from './startup-packet.js';

describe('startup packets', () => {
  it('decodes SSLRequest, GSSENCRequest and CancelRequest (3.0 and 3.2 key lengths)', () => {
    assert.deepEqual(decodeStartupPacket(encodeSslRequest()), { kind: 'ssl-request' });
    assert.deepEqual(decodeStartupPacket(encodeGssEncRequest()), { kind: 'gssenc-request' });
    const key4 = Buffer.from([1, 2, 3, 4]);
    assert.deepEqual(decodeStartupPacket(encodeCancelRequest(4242, key4)), {
      kind: 'cancel',
      processId: 4242,
      secretKey: key4,
    });
    const key32 = Buffer.alloc(32, 7);
    const decoded = decodeStartupPacket(encodeCancelRequest(1, key32));
    assert.equal(decoded.kind === 'cancel' && decoded.secretKey.length, 32);
  });

  it('decodes a StartupMessage and defaults the database to the user', () => {
    const packet = encodeStartupMessage([
      ['user', 'alice'],
      ['application_name', 'psql'],
    ]);
    const decoded = decodeStartupPacket(packet);
    assert.equal(decoded.kind, 'startup');
    if (decoded.kind !== 'startup') return;
    assert.equal(decoded.parameters.get('user'), 'alice');
    assert.equal(requestedDatabase(decoded.parameters), 'alice');
  });

  it('checks the length word like PostgreSQL', () => {
    assert.equal(startupPacketLength(Buffer.from([0, 0, 0])), undefined);
    for (const length of [0, 7, 10_001, 0x7fffffff]) {
      const header = Buffer.alloc(4);
      header.writeUInt32BE(length);
      assert.throws(
        () => startupPacketLength(header),
        (e: unknown) =>
          e instanceof StartupPacketError &&
          e.sqlstate === '08P01' &&
          e.message === 'invalid length of startup packet',
      );
    }
    const ok = Buffer.alloc(4);
    ok.writeUInt32BE(10_000);
    assert.equal(startupPacketLength(ok), 10_000);
  });

  it("refuses malformed StartupMessages with PostgreSQL's errors", () => {
    const noTerminator = encodeStartupMessage([['user', 'bob']]).subarray(0, -1);
    noTerminator.writeUInt32BE(noTerminator.length, 0);
    assert.throws(
      () => decodeStartupPacket(noTerminator),
      /invalid startup packet layout: expected terminator as last byte/,
    );
    assert.throws(
      () => decodeStartupPacket(encodeStartupMessage([['database', 'x']])),
      (e: unknown) =>
        e instanceof StartupPacketError &&
        e.sqlstate === '28000' &&
        /no PostgreSQL user name specified/.test(e.message),
    );
    assert.throws(
      () => decodeStartupPacket(encodeStartupMessage([['user', 'x']], 4 << 16)),
      (e: unknown) =>
        e instanceof StartupPacketError &&
        e.sqlstate === '0A000' &&
        e.message === 'unsupported frontend protocol 4.0: server supports 3.0 to 3.2',
    );
  });
});
