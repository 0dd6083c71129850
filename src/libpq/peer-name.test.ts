// libpq's verify-full host name rules and messages, as a table.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIpBytes } from '../net/ip-text.js';
import { ipBytes, type PeerNames, parseSubjectAltName, peerNameProblem } from './peer-name.js';

const cert = (san: string | undefined, cn?: string): PeerNames => ({
  altNames: parseSubjectAltName(san),
  commonName: cn,
});

describe('parseSubjectAltName', () => {
  it('reads DNS and IP entries in order, including quoted values', () => {
    assert.deepEqual(
      parseSubjectAltName('DNS:localhost, IP Address:127.0.0.1, email:a@b, DNS:"x, y"'),
      [
        { type: 'dns', value: 'localhost' },
        { type: 'ip', value: '127.0.0.1' },
        { type: 'dns', value: 'x, y' },
      ],
    );
  });
});

describe('ipBytes / formatIp', () => {
  const cases: Array<[string, string]> = [
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['::ffff:10.1.2.3', '::ffff:a01:203'],
    ['fe80::', 'fe80::'],
  ];
  for (const [text, canonical] of cases) {
    it(`${text} → ${canonical}`, () => {
      const bytes = ipBytes(text);
      assert.ok(bytes);
      assert.equal(formatIpBytes(bytes), canonical);
    });
  }
  it('rejects non-addresses', () => {
    assert.equal(ipBytes('localhost'), undefined);
    assert.equal(ipBytes('010.1.1.1'), undefined);
  });
});

describe('peerNameProblem', () => {
  const cases: Array<[string, PeerNames, string | undefined]> = [
    ['localhost', cert('DNS:localhost, IP Address:127.0.0.1'), undefined],
    ['LOCALHOST', cert('DNS:localhost'), undefined],
    ['127.0.0.1', cert('DNS:localhost, IP Address:127.0.0.1'), undefined],
    ['::1', cert('IP Address:0:0:0:0:0:0:0:1'), undefined],
    ['db.example.com', cert('DNS:*.example.com'), undefined],
    [
      'a.b.example.com',
      cert('DNS:*.example.com'),
      'server certificate for "*.example.com" does not match host name "a.b.example.com"',
    ],
    [
      'example.com',
      cert('DNS:*.example.com'),
      'server certificate for "*.example.com" does not match host name "example.com"',
    ],
    [
      '127.0.0.1',
      cert('DNS:localhost'),
      'server certificate for "localhost" does not match host name "127.0.0.1"',
    ],
    // an IP host with only DNS SANs falls back to the CN (libpq's documented exception)
    ['127.0.0.1', cert('DNS:localhost', '127.0.0.1'), undefined],
    // DNS SANs present: the CN is ignored for a DNS host
    ['db', cert('DNS:other', 'db'), 'server certificate for "other" does not match host name "db"'],
    ['db', cert(undefined, 'db'), undefined],
    [
      'db',
      cert(undefined, 'other'),
      'server certificate for "other" does not match host name "db"',
    ],
    [
      'wrong.example',
      cert('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1'),
      'server certificate for "localhost" (and 2 other names) does not match host name "wrong.example"',
    ],
    [
      'wrong.example',
      cert('IP Address:127.0.0.1, DNS:localhost'),
      'server certificate for "127.0.0.1" (and 1 other name) does not match host name "wrong.example"',
    ],
    ['db', cert(undefined, undefined), "could not get server's host name from server certificate"],
    ['', cert('DNS:localhost'), 'host name must be specified for a verified SSL connection'],
  ];
  for (const [host, names, expected] of cases) {
    it(`${host || '(no host)'} vs ${JSON.stringify(names)}`, () => {
      assert.equal(peerNameProblem(host, names), expected);
    });
  }
});
