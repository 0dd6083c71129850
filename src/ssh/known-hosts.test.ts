// known_hosts parsing and lookup against entries written by OpenSSH's own ssh-keygen
// (`ssh-keygen -H` for the hashed lines, `ssh-keygen -l` for the fingerprints).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fingerprintSha256, keyBlobType, preferredHostKeyAlgorithms } from './host-key.js';
import {
  checkHostKey,
  entryMatchesName,
  formatKnownHostsLine,
  knownHostsName,
  knownKeyTypes,
  parseKnownHosts,
} from './known-hosts.js';

const K1 = 'AAAAC3NzaC1lZDI1NTE5AAAAIGDW6C5rHencI/p8JId6YKFUlIMEHQDM57FSzkP0dCmu';
const K2 = 'AAAAC3NzaC1lZDI1NTE5AAAAIP82NsXOuXVozpV0zixQFkKgI6sezdNGpwEuj02aapjf';
const K3 =
  'AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBOAzVTU3k0nmpfZAihZB96Dj2vse5JqVmhYgr0MC' +
  'DgXQiq/PsTHMMqC77chAXZmPRBQ1ghNQ2H15TpP7Zdkpzic=';
const key = (b64: string) => Buffer.from(b64, 'base64');

// K1 hashed for "[127.0.0.1]:2222", K2 hashed for "foo.example.com", by ssh-keygen -H.
const HASHED = [
  `|1|ElpNc83ol1SgbwkkG00fTek60vo=|ICUzMZvmgiSQjnrMSGFHm1UUY+Q= ssh-ed25519 ${K1}`,
  `|1|Hix7xzT6W+1hzqkuB71hWnyeJu8=|Vc99zf5bImfUZkht9qC+pP2B25I= ssh-ed25519 ${K2}`,
].join('\n');

describe('host-key', () => {
  it('reads the key type from the blob and prints fingerprints like ssh-keygen -l', () => {
    assert.equal(keyBlobType(key(K1)), 'ssh-ed25519');
    assert.equal(keyBlobType(key(K3)), 'ecdsa-sha2-nistp256');
    assert.equal(keyBlobType(Buffer.from([0, 0, 0, 9, 1])), undefined);
    assert.equal(fingerprintSha256(key(K1)), 'SHA256:5LtzLMvUWMx7ZsEcoLAuDWA2uHX/qXPU/DyTeXswX10');
    assert.equal(fingerprintSha256(key(K3)), 'SHA256:qXd4KqlaD4wWmjI7DUmNslBcvBAqy42JtQsCd23kKfU');
  });

  it('offers algorithms for known key types first', () => {
    const order = preferredHostKeyAlgorithms(['ssh-rsa', 'ecdsa-sha2-nistp256']);
    assert.deepEqual(order.slice(0, 4), [
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
      'ecdsa-sha2-nistp256',
    ]);
    assert.equal(order.length, 7);
    assert.equal(preferredHostKeyAlgorithms([])[0], 'ssh-ed25519');
  });
});

describe('known-hosts', () => {
  it('names hosts as OpenSSH files them', () => {
    assert.equal(knownHostsName('Foo.Example.com', 22), 'foo.example.com');
    assert.equal(knownHostsName('127.0.0.1', 2222), '[127.0.0.1]:2222');
    assert.equal(knownHostsName('::1', 2222), '[::1]:2222');
  });

  it('matches hashed entries written by ssh-keygen -H', () => {
    const file = parseKnownHosts(HASHED, 'kh');
    assert.equal(file.entries.length, 2);
    assert.deepEqual(file.problems, []);
    const [first, second] = file.entries;
    assert.ok(first && second);
    assert.ok(entryMatchesName(first, '[127.0.0.1]:2222'));
    assert.ok(!entryMatchesName(first, '127.0.0.1'));
    assert.ok(!entryMatchesName(first, '[127.0.0.1]:2223'));
    assert.ok(entryMatchesName(second, 'foo.example.com'));
    const verdict = checkHostKey([file], '[127.0.0.1]:2222', 'ssh-ed25519', key(K1));
    assert.equal(verdict.kind, 'trusted');
    assert.equal(verdict.kind === 'trusted' && verdict.entry.line, 1);
  });

  it('reports a changed key with the lines that list the old one', () => {
    const file = parseKnownHosts(HASHED, 'kh');
    const verdict = checkHostKey([file], 'foo.example.com', 'ssh-ed25519', key(K1));
    assert.equal(verdict.kind, 'changed');
    assert.deepEqual(
      verdict.kind === 'changed' && verdict.entries.map((e) => `${e.file}:${e.line}`),
      ['kh:2'],
    );
  });

  it('handles comma lists, wildcards, negation and [host]:port patterns', () => {
    const text = [
      '# comment',
      '',
      `db1.example.com,10.0.0.5 ssh-ed25519 ${K1}`,
      `*.internal,!bad.internal ssh-ed25519 ${K2}`,
      `[bastion]:2200,[bastion-?]:2200 ecdsa-sha2-nistp256 ${K3} a comment`,
    ].join('\n');
    const file = parseKnownHosts(text, 'kh');
    assert.equal(file.entries.length, 3);
    const kind = (name: string, b64: string, type = 'ssh-ed25519') =>
      checkHostKey([file], name, type, key(b64)).kind;
    assert.equal(kind('10.0.0.5', K1), 'trusted');
    assert.equal(kind('DB1.Example.com', K1), 'trusted');
    assert.equal(kind('pg.internal', K2), 'trusted');
    assert.equal(kind('bad.internal', K2), 'unknown');
    assert.equal(kind('[bastion-2]:2200', K3, 'ecdsa-sha2-nistp256'), 'trusted');
    assert.equal(kind('bastion', K3, 'ecdsa-sha2-nistp256'), 'unknown');
    // known only with an ECDSA key, now offering ED25519
    assert.equal(kind('[bastion]:2200', K1), 'other-types');
    assert.deepEqual(knownKeyTypes([file], '[bastion]:2200'), ['ecdsa-sha2-nistp256']);
  });

  it('lets @revoked win over a trusting line and reports @cert-authority lines', () => {
    const text = [
      `db ssh-ed25519 ${K1}`,
      `@revoked db,other ssh-ed25519 ${K1}`,
      `@cert-authority *.example.com ssh-ed25519 ${K2}`,
    ].join('\n');
    const file = parseKnownHosts(text, 'kh');
    const revoked = checkHostKey([file], 'db', 'ssh-ed25519', key(K1));
    assert.equal(revoked.kind, 'revoked');
    assert.equal(revoked.kind === 'revoked' && revoked.entry.line, 2);
    const ca = checkHostKey([file], 'x.example.com', 'ssh-ed25519', key(K1));
    assert.equal(ca.kind, 'unknown');
    assert.equal(ca.kind === 'unknown' && ca.certAuthorities.length, 1);
  });

  it('skips and reports malformed lines', () => {
    const text = [
      `@bogus db ssh-ed25519 ${K1}`,
      'db ssh-ed25519',
      `db ssh-rsa ${K1}`,
      `|1|abc|def ssh-ed25519 ${K1}`,
      `ok ssh-ed25519 ${K1}`,
    ].join('\r\n');
    const file = parseKnownHosts(text, 'kh');
    assert.equal(file.entries.length, 1);
    assert.deepEqual(
      file.problems.map((p) => p.line),
      [1, 2, 3, 4],
    );
    assert.match(file.problems[0]?.message ?? '', /unknown marker @bogus/);
  });

  it('writes hashed lines that match again, and plain lines', () => {
    const salt = Buffer.from('ElpNc83ol1SgbwkkG00fTek60vo=', 'base64');
    const line = formatKnownHostsLine('[127.0.0.1]:2222', key(K1), { salt });
    assert.equal(line, HASHED.split('\n')[0]);
    const fresh = parseKnownHosts(formatKnownHostsLine('db', key(K3)), 'kh');
    assert.equal(checkHostKey([fresh], 'db', 'ecdsa-sha2-nistp256', key(K3)).kind, 'trusted');
    assert.equal(
      formatKnownHostsLine('[db]:5022', key(K2), { hash: false }),
      `[db]:5022 ssh-ed25519 ${K2}`,
    );
  });
});
