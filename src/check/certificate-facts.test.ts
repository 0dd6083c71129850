import assert from 'node:assert/strict';
import type { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CaStore } from '../ca/ca-store.js';
import {
  analyseChain,
  certificatesFromPem,
  checkNames,
  describeCertificate,
} from './certificate-facts.js';

describe('certificate facts', () => {
  let dir: string;
  let root: X509Certificate;
  let intermediate: X509Certificate;
  let leaf: X509Certificate;
  let rsaLeaf: X509Certificate;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pgtunnel-check-cert-'));
    const store = new CaStore(join(dir, 'ca'));
    await store.init({ keyType: 'ecdsa-p256', commonName: 'Check Root' });
    await store.createIntermediate({ keyType: 'ecdsa-p256', commonName: 'Check Intermediate' });
    const issued = await store.issue({
      kind: 'server',
      commonName: 'db.example.com',
      sans: ['DNS:db.example.com', 'IP:10.0.0.5'],
      keyType: 'ecdsa-p256',
      certFile: join(dir, 'server.crt'),
      keyFile: join(dir, 'server.key'),
    });
    const rsa = await store.issue({
      kind: 'server',
      commonName: 'rsa.example.com',
      keyType: 'rsa2048',
      certFile: join(dir, 'rsa.crt'),
      keyFile: join(dir, 'rsa.key'),
    });
    [leaf] = certificatesFromPem(await readFile(issued.certFile, 'utf8')) as [X509Certificate];
    [rsaLeaf] = certificatesFromPem(await readFile(rsa.certFile, 'utf8')) as [X509Certificate];
    [root] = certificatesFromPem(await readFile(store.layout.level('root').cert, 'utf8')) as [
      X509Certificate,
    ];
    [intermediate] = certificatesFromPem(
      await readFile(store.layout.level('intermediate').cert, 'utf8'),
    ) as [X509Certificate];
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('describes a leaf and a root', () => {
    const now = new Date(new Date(leaf.validTo).getTime() - 40.5 * 86_400_000);
    const info = describeCertificate(leaf, now);
    assert.equal(info.subject, 'CN=db.example.com');
    assert.equal(info.issuer, 'CN=Check Intermediate');
    assert.equal(info.daysLeft, 40);
    assert.equal(info.expired, false);
    assert.equal(info.keyType, 'ec');
    assert.equal(info.curve, 'prime256v1');
    assert.equal(info.keyBits, 256);
    assert.equal(info.signatureAlgorithm, 'ecdsa-with-SHA256');
    assert.equal(info.isCa, false);
    assert.equal(info.selfSigned, false);
    assert.deepEqual(info.hostNames, ['db.example.com', '10.0.0.5']);
    const rootInfo = describeCertificate(root, now);
    assert.equal(rootInfo.isCa, true);
    assert.equal(rootInfo.selfSigned, true);
    const rsaInfo = describeCertificate(rsaLeaf, now);
    assert.deepEqual([rsaInfo.keyType, rsaInfo.keyBits], ['rsa', 2048]);
    assert.equal(
      describeCertificate(leaf, new Date(new Date(leaf.validTo).getTime() + 1000)).expired,
      true,
    );
  });

  const chains: Array<[string, () => X509Certificate[], { inOrder: boolean; complete: boolean }]> =
    [
      ['leaf + intermediate', () => [leaf, intermediate], { inOrder: true, complete: true }],
      [
        'leaf + intermediate + root',
        () => [leaf, intermediate, root],
        { inOrder: true, complete: true },
      ],
      ['the leaf alone', () => [leaf], { inOrder: true, complete: false }],
      [
        'leaf + root + intermediate',
        () => [leaf, root, intermediate],
        { inOrder: false, complete: true },
      ],
    ];
  for (const [name, chain, expected] of chains) {
    it(`analyses ${name}`, () => {
      assert.deepEqual(analyseChain(chain(), [root]), expected);
    });
  }

  it('checks names as libpq verify-full does', () => {
    assert.deepEqual(checkNames(leaf, ['db.example.com', '10.0.0.5', 'other.example.com']), [
      { name: 'db.example.com' },
      { name: '10.0.0.5' },
      {
        name: 'other.example.com',
        problem:
          'server certificate for "db.example.com" (and 1 other name) does not match host name "other.example.com"',
      },
    ]);
  });
});
