import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeBackendError } from '../protocol/backend-error.js';
import { MessageReader } from '../protocol/message-reader.js';
import { encodeAuthenticationSasl } from '../protocol/sasl.js';
import { classifyStartupAnswer } from './startup-answer.js';

function authentication(code: number, extra: Buffer = Buffer.alloc(0)): Buffer {
  const message = Buffer.alloc(9 + extra.length);
  message.write('R', 0);
  message.writeInt32BE(8 + extra.length, 1);
  message.writeInt32BE(code, 5);
  extra.copy(message, 9);
  return message;
}

function classify(bytes: Buffer) {
  const [message] = new MessageReader().push(bytes);
  assert.ok(message);
  return classifyStartupAnswer(message);
}

describe('classifyStartupAnswer', () => {
  const cases: Array<[string, Buffer, unknown]> = [
    ['AuthenticationOk (trust)', authentication(0), { kind: 'authentication', method: 'ok' }],
    ['cleartext password', authentication(3), { kind: 'authentication', method: 'cleartext' }],
    [
      'MD5 password',
      authentication(5, Buffer.from([1, 2, 3, 4])),
      { kind: 'authentication', method: 'md5' },
    ],
    [
      'SASL with channel binding',
      encodeAuthenticationSasl(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256']),
      {
        kind: 'authentication',
        method: 'sasl',
        mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'],
      },
    ],
    ['GSS (other)', authentication(7), { kind: 'authentication', method: 'other' }],
    [
      'no pg_hba.conf entry',
      encodeBackendError({
        severity: 'FATAL',
        sqlstate: '28000',
        message: 'no pg_hba.conf entry for host "127.0.0.1", user "x", database "x", no encryption',
      }),
      {
        kind: 'error',
        sqlstate: '28000',
        message: 'no pg_hba.conf entry for host "127.0.0.1", user "x", database "x", no encryption',
      },
    ],
    [
      'something else',
      Buffer.from('Z\0\0\0\x05I'),
      { kind: 'failed', detail: 'unexpected message type "Z"' },
    ],
  ];
  for (const [name, bytes, expected] of cases) {
    it(name, () => assert.deepEqual(classify(bytes), expected));
  }
});
