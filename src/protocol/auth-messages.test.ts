// Byte layouts of the authentication and query messages the gateway writes and reads, against
// hand-assembled packets from the protocol documentation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  authenticationRequest,
  decodeSaslInitialResponse,
  encodePasswordMessage,
  encodeSaslChallenge,
  encodeSaslInitialResponse,
  encodeSaslResponse,
  md5PasswordResponse,
} from './auth-messages.js';
import { decodeDataRow, encodeExtendedQuery } from './query-messages.js';

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

describe('authentication messages', () => {
  it('encodes SASLInitialResponse and decodes it back', () => {
    const message = encodeSaslInitialResponse('SCRAM-SHA-256', 'n,,n=,r=x');
    // 'p', length 32, mechanism\0, Int32 9, data
    assert.deepEqual(
      message,
      Buffer.concat([
        hex('70 0000001f'),
        Buffer.from('SCRAM-SHA-256\0'),
        hex('00000009'),
        Buffer.from('n,,n=,r=x'),
      ]),
    );
    assert.deepEqual(decodeSaslInitialResponse(message.subarray(5)), {
      mechanism: 'SCRAM-SHA-256',
      data: 'n,,n=,r=x',
    });
    const noData = Buffer.concat([Buffer.from('SCRAM-SHA-256\0'), hex('ffffffff')]);
    assert.deepEqual(decodeSaslInitialResponse(noData), {
      mechanism: 'SCRAM-SHA-256',
      data: undefined,
    });
    assert.throws(() => decodeSaslInitialResponse(Buffer.from('no terminator')), RangeError);
    const lying = Buffer.concat([Buffer.from('M\0'), hex('00000005'), Buffer.from('abc')]);
    assert.throws(() => decodeSaslInitialResponse(lying), RangeError);
  });

  it('encodes SASLResponse, PasswordMessage and SASL challenges', () => {
    assert.deepEqual(
      encodeSaslResponse('c=biws'),
      Buffer.concat([hex('70 0000000a'), Buffer.from('c=biws')]),
    );
    assert.deepEqual(
      encodePasswordMessage('pw'),
      Buffer.concat([hex('70 00000007'), Buffer.from('pw\0')]),
    );
    const challenge = encodeSaslChallenge(12, 'v=abc');
    assert.deepEqual(challenge, Buffer.concat([hex('52 0000000d 0000000c'), Buffer.from('v=abc')]));
    const request = authenticationRequest({
      type: challenge[0] ?? 0,
      body: challenge.subarray(5),
      raw: challenge,
    });
    assert.equal(request?.code, 12);
    assert.equal(request?.data.toString(), 'v=abc');
  });

  it("computes PostgreSQL's MD5 response", () => {
    // (printf 4a0a68b43b6cd5cf266fa02f196e2371; printf '\x01\x02\x03\x04') | md5sum, where
    // 4a0a… is md5("secret" + "alice")
    assert.equal(
      md5PasswordResponse('alice', 'secret', hex('01020304')),
      'md598a0412b9c31436fc53776e863350083',
    );
  });
});

describe('query messages', () => {
  it('encodes Parse, Bind, Execute and Sync with a text parameter', () => {
    const bytes = encodeExtendedQuery('SELECT $1', ['x']);
    const expected = Buffer.concat([
      hex('50 00000015 00'),
      Buffer.from('SELECT $1\0'),
      hex('0001 00000000'),
      hex('42 00000011 00 00 0000 0001 00000001'),
      Buffer.from('x'),
      hex('0000'),
      hex('45 00000009 00 00000000'),
      hex('53 00000004'),
    ]);
    assert.deepEqual(bytes, expected);
  });

  it('decodes DataRow columns, NULL included', () => {
    const body = Buffer.concat([hex('0002 00000003'), Buffer.from('abc'), hex('ffffffff')]);
    assert.deepEqual(decodeDataRow(body), ['abc', null]);
    assert.throws(() => decodeDataRow(hex('0001 00000005 41')), RangeError);
  });
});
