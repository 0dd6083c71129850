import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cipherWeaknesses } from './cipher-suites.js';
import type { TlsVersion } from './facts.js';

// [suite, version, weaknesses]
const TABLE: Array<[string, TlsVersion, string[]]> = [
  ['TLS_AES_256_GCM_SHA384', 'TLSv1.3', []],
  ['TLS_CHACHA20_POLY1305_SHA256', 'TLSv1.3', []],
  ['ECDHE-RSA-AES256-GCM-SHA384', 'TLSv1.2', []],
  ['DHE-RSA-CHACHA20-POLY1305', 'TLSv1.2', []],
  ['ECDHE-RSA-AES128-SHA', 'TLSv1.2', []],
  ['ECDHE-RSA-AES128-SHA', 'TLSv1', ['cbc-tls10']],
  ['ECDHE-RSA-AES128-SHA', 'TLSv1.1', ['cbc-tls10']],
  ['AES256-GCM-SHA384', 'TLSv1.2', ['no-forward-secrecy']],
  ['AES128-SHA', 'TLSv1', ['no-forward-secrecy', 'cbc-tls10']],
  ['CAMELLIA128-SHA256', 'TLSv1.2', ['no-forward-secrecy']],
  ['PSK-AES128-CBC-SHA', 'TLSv1.2', ['no-forward-secrecy']],
  ['ADH-AES128-GCM-SHA256', 'TLSv1.2', ['anonymous', 'no-forward-secrecy']],
  ['AECDH-AES256-SHA', 'TLSv1', ['anonymous', 'no-forward-secrecy', 'cbc-tls10']],
  ['NULL-SHA256', 'TLSv1.2', ['null', 'no-forward-secrecy']],
  ['ECDHE-RSA-NULL-SHA', 'TLSv1.2', ['null']],
  ['RC4-SHA', 'TLSv1.2', ['rc4', 'no-forward-secrecy']],
  ['DES-CBC3-SHA', 'TLSv1.2', ['3des', 'no-forward-secrecy']],
  ['ECDHE-RSA-DES-CBC3-SHA', 'TLSv1.2', ['3des']],
  ['EXP-RC4-MD5', 'TLSv1', ['export', 'rc4', 'no-forward-secrecy', 'cbc-tls10']],
  ['EXP1024-DES-CBC-SHA', 'TLSv1', ['export', '3des', 'no-forward-secrecy', 'cbc-tls10']],
];

describe('cipherWeaknesses', () => {
  for (const [suite, version, expected] of TABLE) {
    it(`${suite} with ${version}: ${expected.join(', ') || 'none'}`, () => {
      assert.deepEqual(cipherWeaknesses(suite, version), expected);
    });
  }
});
