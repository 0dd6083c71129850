// The per-run test PKI every integration test relies on: each artefact checked with the real
// `openssl verify` / `openssl crl`, for each key type, and its creation time bounded.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createTestPki, type TestPki } from '../helpers/pki.js';

const exec = promisify(execFile);

async function openssl(...args: string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await exec('openssl', args, { timeout: 10_000 });
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; code?: unknown };
    if (e.code === 'ENOENT') throw new Error('the openssl binary is required for these tests');
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** `openssl verify` against the PKI's bundle with CRL checks at every level. */
function verifyWithCrls(pki: TestPki, cert: string, ...extra: string[]) {
  return openssl(
    'verify',
    '-CAfile',
    pki.caBundle,
    '-crl_check_all',
    '-CRLfile',
    pki.crlBundle,
    ...extra,
    cert,
  );
}

for (const keyType of ['ecdsa-p256', 'rsa2048', 'ed25519'] as const) {
  describe(`createTestPki (${keyType})`, () => {
    let pki: TestPki;
    before(async () => {
      pki = await createTestPki({ keyType });
    });
    after(async () => {
      await pki.cleanup();
      await assert.rejects(stat(pki.dir), /ENOENT/);
    });

    it('gives a server chain valid for localhost, 127.0.0.1 and ::1', async () => {
      const viaRootOnly = await openssl(
        'verify',
        '-CAfile',
        pki.rootCert,
        '-untrusted',
        pki.intermediateCert,
        '-purpose',
        'sslserver',
        pki.serverCert,
      );
      assert.ok(viaRootOnly.ok, viaRootOnly.output);
      for (const check of [
        ['-verify_hostname', 'localhost'],
        ['-verify_ip', '127.0.0.1'],
        ['-verify_ip', '::1'],
      ]) {
        const result = await verifyWithCrls(pki, pki.serverCert, ...check);
        assert.ok(result.ok, `${check.join(' ')}: ${result.output}`);
      }
      assert.equal((await stat(pki.serverKey)).mode & 0o777, 0o600);
      assert.equal((await stat(pki.serverCert)).mode & 0o004, 0o004, 'world-readable');
      assert.equal((await stat(pki.crlBundle)).mode & 0o004, 0o004, 'world-readable');
      const crl = await readFile(pki.crlBundle, 'utf8');
      assert.equal(crl.match(/-----BEGIN X509 CRL-----/g)?.length, 2);
      const parsed = await openssl('crl', '-in', pki.crlBundle, '-CAfile', pki.caBundle, '-noout');
      assert.ok(parsed.ok && /verify OK/.test(parsed.output), parsed.output);
    });

    it('gives client certificates: valid, expired, untrusted, and revocable', async () => {
      const alice = await pki.client('alice');
      const good = await verifyWithCrls(pki, alice.cert, '-purpose', 'sslclient');
      assert.ok(good.ok, good.output);
      assert.equal((await stat(alice.key)).mode & 0o777, 0o600);
      const subject = await openssl('x509', '-in', alice.cert, '-noout', '-subject');
      assert.match(subject.output, /CN ?= ?alice/);

      const renamed = await pki.client('alice', { cn: 'mallory' });
      assert.notEqual(renamed.cert, alice.cert);
      assert.match(
        (await openssl('x509', '-in', renamed.cert, '-noout', '-subject')).output,
        /mallory/,
      );

      const expired = await verifyWithCrls(pki, (await pki.client('old', { expired: true })).cert);
      assert.equal(expired.ok, false);
      assert.match(expired.output, /certificate has expired/);

      const stranger = await pki.client('eve', { untrusted: true });
      const untrusted = await verifyWithCrls(pki, stranger.cert);
      assert.equal(untrusted.ok, false);
      assert.match(untrusted.output, /unable to get (local )?issuer certificate/);
      const ownRoot = await openssl(
        'verify',
        '-CAfile',
        pki.untrustedRootCert,
        '-untrusted',
        stranger.cert,
        stranger.cert,
      );
      assert.ok(ownRoot.ok, `signed by the untrusted root: ${ownRoot.output}`);

      await pki.revoke(alice.cert);
      const revoked = await verifyWithCrls(pki, alice.cert);
      assert.equal(revoked.ok, false);
      assert.match(revoked.output, /certificate revoked/);
      const stillGood = await verifyWithCrls(pki, pki.serverCert);
      assert.ok(stillGood.ok, stillGood.output);
    });

    it('gives other server certificates with exactly the SANs asked for', async () => {
      const other = await pki.otherServer({ cn: 'localhost', sans: ['DNS:wrong.example'] });
      const chain = await verifyWithCrls(pki, other.cert);
      assert.ok(chain.ok, chain.output);
      const mismatch = await verifyWithCrls(pki, other.cert, '-verify_hostname', 'localhost');
      assert.equal(mismatch.ok, false);
      assert.match(mismatch.output, /hostname mismatch/);
    });
  });
}
