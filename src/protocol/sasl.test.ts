// The gateway removes SCRAM-SHA-256-PLUS from AuthenticationSASL and leaves everything else.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeErrorFields, encodeBackendError } from './backend-error.js';
import { MessageReader } from './message-reader.js';
import { encodeAuthenticationSasl, saslMechanisms, withoutChannelBinding } from './sasl.js';

describe('SASL offer rewrite', () => {
  it('drops SCRAM-SHA-256-PLUS and keeps SCRAM-SHA-256', () => {
    const [message] = new MessageReader().push(
      encodeAuthenticationSasl(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256']),
    );
    assert.ok(message);
    const [rewritten] = new MessageReader().push(withoutChannelBinding(message));
    assert.ok(rewritten);
    assert.deepEqual(saslMechanisms(rewritten), ['SCRAM-SHA-256']);
  });

  it('passes other messages through byte for byte', () => {
    const error = encodeBackendError({ severity: 'FATAL', sqlstate: '28P01', message: 'nope' });
    const [message] = new MessageReader().push(error);
    assert.ok(message);
    assert.equal(withoutChannelBinding(message), message.raw);
    assert.equal(decodeErrorFields(message.body).get('M'), 'nope');
  });

  it('frames messages split across chunks and keeps the remainder', () => {
    const bytes = Buffer.concat([encodeAuthenticationSasl(['SCRAM-SHA-256']), Buffer.from('Zxx')]);
    const reader = new MessageReader();
    assert.equal(reader.push(bytes.subarray(0, 3)).length, 0);
    assert.equal(reader.push(bytes.subarray(3)).length, 1);
    assert.deepEqual(reader.remainder(), Buffer.from('Zxx'));
  });

  it('refuses an absurd message length', () => {
    assert.throws(
      () => new MessageReader().push(Buffer.from([0x52, 0x7f, 0xff, 0xff, 0xff])),
      /invalid message length/,
    );
  });
});
