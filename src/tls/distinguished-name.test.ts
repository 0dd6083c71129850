// Certificate names against OpenSSL itself: for subjects with every escaping rule, multi-valued
// RDNs, non-ASCII text in each string type and an attribute OpenSSL has no name for, the DN
// must equal `openssl x509 -nameopt RFC2253` (what PostgreSQL matches `clientname=DN` against).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { attributeNames, certificateNames } from './distinguished-name.js';
import { clientCertificateFacts } from './peer-identity.js';

const dir = mkdtempSync(join(tmpdir(), 'pgtunnel-dn-'));
let counter = 0;

/** A self-signed certificate made by openssl with `subject` (openssl -subj syntax). */
function makeCertificate(subject: string, stringMask = 'utf8only'): string {
  const name = `c${++counter}`;
  const config = join(dir, `${name}.cnf`);
  writeFileSync(
    config,
    [
      'oid_section = oids',
      '[oids]',
      'pgtunnelTestAttribute = 1.3.6.1.4.1.99999.1',
      '[req]',
      'distinguished_name = dn',
      `string_mask = ${stringMask}`,
      '[dn]',
      '',
    ].join('\n'),
  );
  const certFile = join(dir, `${name}.crt`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-config',
      config,
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(dir, `${name}.key`),
      '-out',
      certFile,
      '-days',
      '1',
      '-utf8',
      '-multivalue-rdn',
      '-subj',
      subject,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return certFile;
}

/** openssl's own RFC 2253 rendering of the subject or issuer. */
function opensslName(certFile: string, which: 'subject' | 'issuer'): string {
  const out = execFileSync('openssl', [
    'x509',
    '-in',
    certFile,
    '-noout',
    `-${which}`,
    '-nameopt',
    'RFC2253',
  ]).toString('utf8');
  return out.replace(new RegExp(`^${which}=`), '').replace(/\n$/, '');
}

const CASES: { name: string; subject: string; cn: string | undefined; mask?: string }[] = [
  {
    name: 'specials, quotes, multi-valued RDN, emailAddress',
    subject:
      '/C=FR/O=Acme, Inc./OU=R\\+D/OU=Eng+UID=u1/CN=Zoë "Z" <x>; a\\\\b/emailAddress=z@x.org',
    cn: 'Zoë "Z" <x>; a\\b',
  },
  { name: 'leading # and a tab', subject: '/DC=org/DC=example/CN=#alice\tx', cn: '#alice\tx' },
  { name: 'a lone #, not escaped as OpenSSL does', subject: '/O=#/CN=bob', cn: 'bob' },
  { name: 'BMPString', subject: '/O=Zoë/CN=plain', cn: 'plain', mask: 'pkix' },
  { name: 'T61String', subject: '/O=Zoë/CN=plain', cn: 'plain', mask: 'nombstr' },
  {
    name: 'an attribute OpenSSL has no name for',
    subject: '/O=Acme/1.3.6.1.4.1.99999.1=x/CN=c',
    cn: 'c',
  },
  { name: 'no CN', subject: '/O=Acme/OU=ops', cn: undefined },
  { name: 'two CNs: the first counts', subject: '/CN=first/CN=second', cn: 'first' },
];

describe('certificate names in PostgreSQL form', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const c of CASES) {
    it(`${c.name}: DN equals openssl -nameopt RFC2253`, () => {
      const certFile = makeCertificate(c.subject, c.mask);
      const names = certificateNames(new X509Certificate(readFileSync(certFile)));
      const expected = opensslName(certFile, 'subject');
      assert.ok(expected.length > 0);
      assert.equal(names.subjectDn, expected);
      assert.equal(names.issuerDn, opensslName(certFile, 'issuer'));
      assert.equal(names.cn, c.cn);
      assert.equal(names.cnHasNul, false);
    });
  }

  it('escapes what OpenSSL escapes (spot check of the expected form)', () => {
    const certFile = makeCertificate('/C=FR/O=Acme, Inc./OU=a+UID=b/CN=Zoë \\+ ;');
    const names = certificateNames(new X509Certificate(readFileSync(certFile)));
    assert.equal(names.subjectDn, 'CN=Zo\\C3\\AB \\+ \\;,UID=b+OU=a,O=Acme\\, Inc.,C=FR');
    assert.equal(names.cn, 'Zoë + ;');
  });

  it("reads attribute names from node's multi-line form", () => {
    assert.deepEqual(attributeNames('C=FR\nO=A\\, B\nOU=x \\+ y + UID=u\nCN=c'), [
      'C',
      'O',
      'OU',
      'UID',
      'CN',
    ]);
  });

  it('a CN with a NUL byte makes the certificate unusable, as in PostgreSQL', () => {
    // openssl will not write a NUL into a name, so patch one into the DER (the signature then
    // no longer matches, which does not matter to reading the names).
    const certFile = makeCertificate('/CN=plain');
    const der = new X509Certificate(readFileSync(certFile)).raw;
    const cnUtf8 = Buffer.from([0x0c, 0x05, ...Buffer.from('plain')]);
    const at = der.lastIndexOf(cnUtf8); // the subject comes after the issuer
    assert.ok(at > 0, 'CN not found as UTF8String');
    der[at + 4] = 0; // "pl\0in"
    const forged = new X509Certificate(der);
    const facts = clientCertificateFacts(forged, true, undefined);
    assert.equal(facts.presented, true);
    assert.equal(facts.verified, false);
    assert.match(String(facts.verifyError), /common name contains embedded null/);
    assert.equal(facts.cn, undefined);
  });
});
