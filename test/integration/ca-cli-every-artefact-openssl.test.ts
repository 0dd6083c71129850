// Every file `pgtunnel ca` writes, checked with the real openssl in strict X.509 mode: the root,
// the intermediate, the CA bundle, the libpq files, CRLs of each level, a renewed certificate,
// and the on-disk layout docs/ca.md describes. Then an intermediate replaced with --force takes
// what it signed down with it, and `ca list` says so.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { caOk, openssl } from '../helpers/ca-cli.js';
import type { RunResult } from '../helpers/run.js';

function assertOk(result: RunResult, what: string): void {
  assert.equal(result.code, 0, `${what}: ${result.stdout}${result.stderr}`);
}

function countCertificates(pem: string): number {
  return pem.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
}

async function serialOf(file: string): Promise<string> {
  const out = await openssl(['x509', '-in', file, '-noout', '-serial']);
  assertOk(out, `serial of ${file}`);
  return out.stdout
    .trim()
    .replace(/^serial=/, '')
    .toLowerCase();
}

interface Entry {
  serial: string;
  kind: string;
  commonName: string;
  revokedAt?: string;
  renewedFrom?: string;
  issuerSerial?: string;
}

describe('every pgtunnel ca artefact, checked by openssl', () => {
  let work: string;
  let caDir: string;
  const file = (name: string) => join(work, name);
  const ca = (name: string) => join(caDir, name);

  /** `openssl verify` strictly, against the root only, with every CRL level checked. */
  function verify(cert: string, ...extra: string[]) {
    return openssl([
      'verify',
      '-x509_strict',
      '-CAfile',
      ca('root/ca.crt'),
      '-untrusted',
      ca('intermediate/ca.crt'),
      '-crl_check_all',
      '-CRLfile',
      ca('crl-bundle.pem'),
      ...extra,
      cert,
    ]);
  }

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'pgtunnel-ca-artefacts-'));
    caDir = join(work, 'ca');
    await caOk(['init', '--ca-dir', caDir]);
    await caOk(['intermediate', '--ca-dir', caDir]);
    const out = ['--cert-file', file('db.crt'), '--key-file', file('db.key')];
    await caOk(['issue', 'server', '--ca-dir', caDir, '--cn', 'db.test', ...out]);
    await caOk(['issue', 'client', '--ca-dir', caDir, '--cn', 'alice', '--libpq', file('pq')]);
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('lays out the CA directory as documented, with keys at 0600 and no lock left', async () => {
    assert.deepEqual((await readdir(caDir)).sort(), [
      'ca-bundle.crt',
      'crl-bundle.pem',
      'index.json',
      'intermediate',
      'issued',
      'root',
    ]);
    for (const level of ['root', 'intermediate']) {
      assert.deepEqual((await readdir(ca(level))).sort(), ['ca.crt', 'ca.key', 'crl.pem']);
      assert.equal((await stat(ca(`${level}/ca.key`))).mode & 0o777, 0o600, level);
    }
    const entries = JSON.parse(await caOk(['list', '--ca-dir', caDir, '--json'])) as Entry[];
    assert.deepEqual(
      (await readdir(ca('issued'))).sort(),
      entries.map((e) => `${e.serial}.crt`).sort(),
      'a copy of every issued certificate, named by serial, and never a key',
    );
    for (const entry of entries) {
      assert.equal(await serialOf(ca(`issued/${entry.serial}.crt`)), entry.serial);
    }
  });

  it('makes a self-signed root and an intermediate that openssl accepts strictly', async () => {
    assertOk(
      await openssl(['verify', '-x509_strict', '-CAfile', ca('root/ca.crt'), ca('root/ca.crt')]),
      'root',
    );
    const intermediate = await openssl([
      'verify',
      '-x509_strict',
      '-CAfile',
      ca('root/ca.crt'),
      '-crl_check',
      '-CRLfile',
      ca('root/crl.pem'),
      ca('intermediate/ca.crt'),
    ]);
    assertOk(intermediate, 'intermediate against the root and its CRL');
    const bundle = await readFile(ca('ca-bundle.crt'), 'utf8');
    assert.equal(
      bundle,
      (await readFile(ca('root/ca.crt'), 'utf8')) +
        (await readFile(ca('intermediate/ca.crt'), 'utf8')),
      'ca-bundle.crt is the root followed by the intermediate',
    );
  });

  it('writes leaf chains openssl verifies for their purpose, host name and CRLs', async () => {
    assertOk(
      await verify(file('db.crt'), '-purpose', 'sslserver', '-verify_hostname', 'db.test'),
      'server',
    );
    assertOk(await verify(join(file('pq'), 'postgresql.crt'), '-purpose', 'sslclient'), 'client');
  });

  it('writes exactly the files libpq reads, with the modes it requires', async () => {
    const pq = file('pq');
    assert.deepEqual((await readdir(pq)).sort(), ['postgresql.crt', 'postgresql.key', 'root.crt']);
    assert.equal((await stat(join(pq, 'postgresql.key'))).mode & 0o777, 0o600);
    const chain = await readFile(join(pq, 'postgresql.crt'), 'utf8');
    assert.equal(countCertificates(chain), 2, 'client certificate followed by the intermediate');
    const subject = await openssl([
      'x509',
      '-in',
      join(pq, 'postgresql.crt'),
      '-noout',
      '-subject',
    ]);
    assert.match(subject.stdout, /CN ?= ?alice/);
    assert.equal(
      await readFile(join(pq, 'root.crt'), 'utf8'),
      await readFile(ca('ca-bundle.crt'), 'utf8'),
    );
    // What libpq does with those files: trust root.crt, receive the chain from postgresql.crt.
    const asLibpq = await openssl([
      'verify',
      '-x509_strict',
      '-CAfile',
      join(pq, 'root.crt'),
      '-untrusted',
      join(pq, 'postgresql.crt'),
      '-purpose',
      'sslclient',
      join(pq, 'postgresql.crt'),
    ]);
    assertOk(asLibpq, 'libpq files');
    const key = await openssl(['pkey', '-in', join(pq, 'postgresql.key'), '-noout']);
    assertOk(key, 'client key');
  });

  it('publishes CRLs for each level that are valid even for a clock a minute behind', async () => {
    await caOk(['crl', '--ca-dir', caDir, '--days', '7']);
    for (const level of ['root', 'intermediate']) {
      const crl = await openssl([
        'crl',
        '-in',
        ca(`${level}/crl.pem`),
        '-CAfile',
        ca('ca-bundle.crt'),
        '-noout',
        '-text',
      ]);
      assertOk(crl, `${level} CRL`);
      assert.match(crl.stdout + crl.stderr, /verify OK/);
      assert.match(crl.stdout, /No Revoked Certificates/);
    }
    const bundle = await readFile(ca('crl-bundle.pem'), 'utf8');
    assert.equal(
      bundle,
      (await readFile(ca('root/crl.pem'), 'utf8')) +
        (await readFile(ca('intermediate/crl.pem'), 'utf8')),
    );
    const aMinuteAgo = String(Math.floor(Date.now() / 1000) - 60);
    assertOk(
      await verify(file('db.crt'), '-attime', aMinuteAgo),
      'a fresh CRL for a peer whose clock runs behind',
    );
  });

  it('renews a certificate that openssl accepts, and revokes the old one in the right CRL', async () => {
    const oldSerial = await serialOf(file('db.crt'));
    const out = ['--cert-file', file('db2.crt'), '--key-file', file('db2.key')];
    await caOk(['renew', '--ca-dir', caDir, file('db.crt'), '--revoke-old', ...out]);
    assertOk(
      await verify(file('db2.crt'), '-purpose', 'sslserver', '-verify_hostname', 'db.test'),
      'renewed',
    );
    assert.notEqual(await serialOf(file('db2.crt')), oldSerial);
    const old = await verify(file('db.crt'));
    assert.notEqual(old.code, 0);
    assert.match(old.stdout + old.stderr, /certificate revoked/);
    const crlText = async (level: string) =>
      (await openssl(['crl', '-in', ca(`${level}/crl.pem`), '-noout', '-text'])).stdout;
    assert.match(await crlText('intermediate'), new RegExp(`Serial Number: ${oldSerial}`, 'i'));
    assert.match(await crlText('root'), /No Revoked Certificates/);
    const entries = JSON.parse(await caOk(['list', '--ca-dir', caDir, '--json'])) as Entry[];
    const renewed = entries.find((e) => e.renewedFrom === oldSerial);
    assert.equal(renewed?.serial, await serialOf(file('db2.crt')));
  });

  it('takes down what a replaced intermediate signed, and `ca list` shows it', async () => {
    const before = JSON.parse(await caOk(['list', '--ca-dir', caDir, '--json'])) as Entry[];
    const oldIntermediate = before.find((e) => e.kind === 'intermediate' && !e.revokedAt)!;
    const alice = before.find((e) => e.commonName === 'alice')!;
    assert.equal(alice.issuerSerial, oldIntermediate.serial);

    await caOk(['intermediate', '--ca-dir', caDir, '--force']);
    const revoked = await openssl([
      'verify',
      '-CAfile',
      ca('root/ca.crt'),
      '-crl_check',
      '-CRLfile',
      ca('root/crl.pem'),
      ca(`issued/${oldIntermediate.serial}.crt`),
    ]);
    assert.notEqual(revoked.code, 0);
    assert.match(revoked.stdout + revoked.stderr, /certificate revoked/);
    const client = await openssl([
      'verify',
      '-CAfile',
      ca('ca-bundle.crt'),
      '-untrusted',
      join(file('pq'), 'postgresql.crt'),
      '-crl_check_all',
      '-CRLfile',
      ca('crl-bundle.pem'),
      join(file('pq'), 'postgresql.crt'),
    ]);
    assert.notEqual(client.code, 0, 'a certificate from the replaced intermediate must fail');

    const table = await caOk(['list', '--ca-dir', caDir]);
    assert.match(
      table,
      new RegExp(
        `${alice.serial} +client +CN=alice +\\S+ +untrusted: its CA ${oldIntermediate.serial} was revoked`,
      ),
    );
    assert.match(table, new RegExp(`${oldIntermediate.serial} +intermediate .* revoked \\d{4}`));
  });
});
