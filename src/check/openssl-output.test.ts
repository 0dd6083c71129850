import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseSClientOutput } from './openssl-output.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'check');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

describe('parseSClientOutput', () => {
  const cases: Array<{
    file: string;
    chain: number;
    requested: boolean | undefined;
    caNames: string[];
  }> = [
    { file: 's_client-no-request.txt', chain: 1, requested: false, caNames: [] },
    { file: 's_client-ca-names-tls13.txt', chain: 1, requested: true, caNames: ['CN = localhost'] },
    { file: 's_client-ca-names-tls12.txt', chain: 1, requested: true, caNames: ['CN = localhost'] },
  ];
  for (const c of cases) {
    it(c.file, () => {
      const report = parseSClientOutput(fixture(c.file));
      assert.equal(report.handshakeCompleted, true);
      assert.equal(report.chain.length, c.chain);
      assert.match(
        report.chain[0] ?? '',
        /^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/,
      );
      assert.equal(report.certificateRequested, c.requested);
      assert.deepEqual(report.caNames, c.caNames);
    });
  }

  it('a request without CA names (only signature algorithms) still counts as a request', () => {
    const text = [
      'Certificate chain',
      '---',
      'No client certificate CA names sent',
      'Requested Signature Algorithms: ECDSA+SHA256',
      '---',
      'New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384',
    ].join('\n');
    assert.deepEqual(parseSClientOutput(text), {
      chain: [],
      caNames: [],
      handshakeCompleted: true,
      certificateRequested: true,
    });
  });

  it('a failed handshake says nothing about a request', () => {
    const report = parseSClientOutput('CONNECTED(00000003)\nNew, (NONE), Cipher is (NONE)\n');
    assert.equal(report.handshakeCompleted, false);
    assert.equal(report.certificateRequested, undefined);
  });

  it('keeps the order of a two-certificate chain', () => {
    const block = (n: string) => `-----BEGIN CERTIFICATE-----\n${n}\n-----END CERTIFICATE-----`;
    const text = [
      'Certificate chain',
      ' 0 s:CN = leaf',
      block('AAAA'),
      ' 1 s:CN = intermediate',
      block('BBBB'),
      '---',
      'Acceptable client certificate CA names',
      'CN = Root',
      'CN = Intermediate',
      'Requested Signature Algorithms: RSA+SHA256',
      'New, TLSv1.3, Cipher is TLS_AES_128_GCM_SHA256',
    ].join('\n');
    const report = parseSClientOutput(text);
    assert.deepEqual(report.chain, [`${block('AAAA')}\n`, `${block('BBBB')}\n`]);
    assert.deepEqual(report.caNames, ['CN = Root', 'CN = Intermediate']);
  });
});
