// Checks every CA artefact with the real OpenSSL command line: chains, purposes, host names,
// CRLs for both CA levels, revocation, encrypted CA keys and refusal to overwrite.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { PgTunnelError } from '../errors.js';
import { revokedIssuer } from './ca-index.js';
import { CaStore } from './ca-store.js';
import type { KeyType } from './keys.js';

const exec = promisify(execFile);

/** Runs openssl; resolves to combined output and whether it exited 0. */
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

async function verify(store: CaStore, cert: string, ...extra: string[]) {
  return openssl(
    'verify',
    '-CAfile',
    store.layout.level('root').cert,
    '-untrusted',
    store.layout.level('intermediate').cert,
    ...extra,
    cert,
  );
}

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

let workDir: string;
before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'pgtunnel-ca-unit-'));
});
after(async () => {
  await rm(workDir, { recursive: true, force: true });
});

for (const keyType of ['ecdsa-p256', 'rsa2048', 'ed25519'] as KeyType[]) {
  describe(`a ${keyType} CA`, () => {
    let store: CaStore;
    let dir: string;
    before(async () => {
      dir = join(workDir, keyType);
      store = new CaStore(join(dir, 'ca'));
      await store.init({ keyType });
      await store.createIntermediate({ keyType });
    });

    it('issues a server chain that openssl accepts for TLS servers and its host names', async () => {
      const server = await store.issue({
        kind: 'server',
        commonName: 'db.example.test',
        sans: ['IP:127.0.0.1', '::1'],
        keyType,
        certFile: join(dir, 'server.crt'),
        keyFile: join(dir, 'server.key'),
      });
      const ok = await verify(store, server.certFile, '-purpose', 'sslserver');
      assert.ok(ok.ok, ok.output);
      for (const check of [
        ['-verify_hostname', 'db.example.test'],
        ['-verify_ip', '127.0.0.1'],
        ['-verify_ip', '::1'],
      ]) {
        const result = await verify(store, server.certFile, ...check);
        assert.ok(result.ok, `${check.join(' ')}: ${result.output}`);
      }
      const wrongHost = await verify(store, server.certFile, '-verify_hostname', 'other.test');
      assert.equal(wrongHost.ok, false);
      assert.match(wrongHost.output, /hostname mismatch/);
      const notClient = await verify(store, server.certFile, '-purpose', 'sslclient');
      assert.equal(notClient.ok, false, 'a server certificate must not pass as a client one');
      assert.equal(await mode(server.keyFile), 0o600);
      const chain = await readFile(server.certFile, 'utf8');
      assert.equal(chain.match(/BEGIN CERTIFICATE/g)?.length, 2, 'leaf + intermediate');
      const key = await openssl('pkey', '-in', server.keyFile, '-noout');
      assert.ok(key.ok, key.output);
    });

    it('issues client certificates, revokes them, and publishes CRLs for both levels', async () => {
      const client = await store.issue({
        kind: 'client',
        commonName: 'alice',
        keyType,
        certFile: join(dir, 'alice.crt'),
        keyFile: join(dir, 'alice.key'),
        rootFile: join(dir, 'root.crt'),
      });
      const ok = await verify(store, client.certFile, '-purpose', 'sslclient');
      assert.ok(ok.ok, ok.output);
      assert.equal(
        await readFile(client.rootFile!, 'utf8'),
        await readFile(store.layout.caBundle, 'utf8'),
      );

      const bundle = await readFile(store.layout.crlBundle, 'utf8');
      assert.equal(bundle.match(/-----BEGIN X509 CRL-----/g)?.length, 2);
      assert.doesNotMatch(bundle, /BEGIN CRL-----/);
      for (const level of ['root', 'intermediate'] as const) {
        const crl = await openssl(
          'crl',
          '-in',
          store.layout.level(level).crl,
          '-CAfile',
          store.layout.caBundle,
          '-noout',
          '-text',
        );
        assert.ok(crl.ok, crl.output);
        assert.match(crl.output, /verify OK/);
        assert.match(crl.output, /No Revoked Certificates/);
      }
      const checked = await verify(
        store,
        client.certFile,
        '-crl_check_all',
        '-CRLfile',
        store.layout.crlBundle,
      );
      assert.ok(checked.ok, checked.output);

      const { entry, alreadyRevoked } = await store.revoke({ certFile: client.certFile });
      assert.equal(alreadyRevoked, false);
      const revoked = await verify(
        store,
        client.certFile,
        '-crl_check_all',
        '-CRLfile',
        store.layout.crlBundle,
      );
      assert.equal(revoked.ok, false);
      assert.match(revoked.output, /certificate revoked/);
      const crl = await openssl(
        'crl',
        '-in',
        store.layout.level('intermediate').crl,
        '-noout',
        '-text',
      );
      assert.match(crl.output, new RegExp(`Serial Number: ${entry.serial}`, 'i'));
      assert.equal((await store.revoke({ serial: entry.serial })).alreadyRevoked, true);
    });
  });
}

describe('CA safety', () => {
  it('gives unique positive 16-byte serials and records every certificate', async () => {
    const store = new CaStore(join(workDir, 'serials'));
    await store.init();
    await store.createIntermediate();
    // In parallel: the lock file serializes them, so none is lost from the index.
    await Promise.all(
      [0, 1, 2, 3, 4].map((i) =>
        store.issue({
          kind: 'client',
          commonName: `user${i}`,
          certFile: join(workDir, 'serials-out', `u${i}.crt`),
          keyFile: join(workDir, 'serials-out', `u${i}.key`),
        }),
      ),
    );
    const entries = await store.list();
    assert.deepEqual(
      entries.map((e) => e.kind),
      ['root', 'intermediate', 'client', 'client', 'client', 'client', 'client'],
    );
    const serials = new Set(entries.map((e) => e.serial));
    assert.equal(serials.size, entries.length);
    for (const serial of serials) assert.match(serial, /^[4-7][0-9a-f]{31}$/);
  });

  it('encrypts CA keys with a passphrase and names a missing or wrong one', async () => {
    const dir = join(workDir, 'secret');
    await new CaStore(dir, { passphrase: 'correct horse' }).init();
    const key = join(dir, 'root', 'ca.key');
    assert.match(await readFile(key, 'utf8'), /BEGIN ENCRYPTED PRIVATE KEY/);
    assert.equal(await mode(key), 0o600);
    const opened = await openssl('pkey', '-in', key, '-passin', 'pass:correct horse', '-noout');
    assert.ok(opened.ok, opened.output);
    // At rest the key is useless without the passphrase, to openssl as to us.
    const guessed = await openssl('pkey', '-in', key, '-passin', 'pass:correct horses', '-noout');
    assert.equal(guessed.ok, false, 'openssl must not open the key with a wrong passphrase');
    const unprompted = await openssl('pkey', '-in', key, '-passin', 'pass:', '-noout');
    assert.equal(unprompted.ok, false, 'openssl must not open the key without the passphrase');

    await assert.rejects(new CaStore(dir).createIntermediate(), (error: unknown) => {
      assert.ok(error instanceof PgTunnelError);
      assert.equal(error.code, 'ERR_CA_PASSPHRASE');
      assert.match(error.message, /is encrypted; give its passphrase with --passphrase-file/);
      return true;
    });
    await assert.rejects(
      new CaStore(dir, { passphrase: 'wrong' }).createIntermediate(),
      (error: unknown) =>
        error instanceof PgTunnelError &&
        error.code === 'ERR_CA_PASSPHRASE' &&
        /wrong passphrase for .*root\/ca\.key/.test(error.message),
    );
    await new CaStore(dir, { passphrase: 'correct horse' }).createIntermediate();
    assert.match(await readFile(join(dir, 'intermediate', 'ca.key'), 'utf8'), /ENCRYPTED/);
  });

  it('refuses to overwrite files without force, and names the missing CA', async () => {
    const dir = join(workDir, 'force');
    const store = new CaStore(join(dir, 'ca'));
    await assert.rejects(
      store.issue({ kind: 'client', commonName: 'x', certFile: 'x.crt', keyFile: 'x.key' }),
      (error: unknown) =>
        error instanceof PgTunnelError &&
        error.code === 'ERR_CA_MISSING' &&
        /no root CA in .*pgtunnel ca init/.test(error.message),
    );
    await store.init();
    await assert.rejects(store.init(), (error: unknown) => {
      return error instanceof PgTunnelError && error.code === 'ERR_CA_EXISTS';
    });
    await assert.rejects(
      store.issue({ kind: 'client', commonName: 'x', certFile: 'x.crt', keyFile: 'x.key' }),
      /no intermediate CA .*pgtunnel ca intermediate/,
    );
    await store.createIntermediate();
    const certFile = join(dir, 'bob.crt');
    const keyFile = join(dir, 'bob.key');
    await writeFile(keyFile, 'precious\n');
    const before = (await store.list()).length;
    await assert.rejects(
      store.issue({ kind: 'client', commonName: 'bob', certFile, keyFile }),
      (error: unknown) =>
        error instanceof PgTunnelError &&
        error.code === 'ERR_CA_EXISTS' &&
        error.message.includes(keyFile) &&
        /--force/.test(error.message),
    );
    assert.equal(await readFile(keyFile, 'utf8'), 'precious\n');
    await assert.rejects(stat(certFile), /ENOENT/);
    assert.equal((await store.list()).length, before, 'nothing recorded for a refused issue');
    await store.issue({ kind: 'client', commonName: 'bob', certFile, keyFile, force: true });
    assert.match(await readFile(keyFile, 'utf8'), /BEGIN PRIVATE KEY/);
  });

  it('revokes a replaced intermediate in the root CRL and rejects an expired leaf', async () => {
    const dir = join(workDir, 'replace');
    const store = new CaStore(join(dir, 'ca'));
    await store.init();
    const first = await store.createIntermediate();
    const oldIntermediate = join(dir, 'old-intermediate.crt');
    await writeFile(oldIntermediate, await readFile(store.layout.level('intermediate').cert));
    await store.createIntermediate({ force: true });
    const crl = await openssl('crl', '-in', store.layout.level('root').crl, '-noout', '-text');
    assert.match(crl.output, new RegExp(`Serial Number: ${first.serial}`, 'i'));

    const now = Date.now();
    const expired = await store.issue({
      kind: 'client',
      commonName: 'late',
      notBefore: new Date(now - 2 * 86_400_000),
      notAfter: new Date(now - 86_400_000),
      certFile: join(dir, 'late.crt'),
      keyFile: join(dir, 'late.key'),
    });
    const result = await verify(store, expired.certFile);
    assert.equal(result.ok, false);
    assert.match(result.output, /certificate has expired/);
  });

  it('renews with the same subject and SANs, a new serial, and optionally revokes the old', async () => {
    const dir = join(workDir, 'renew');
    const store = new CaStore(join(dir, 'ca'));
    await store.init();
    await store.createIntermediate();
    const old = await store.issue({
      kind: 'server',
      commonName: 'pg.internal',
      sans: ['IP:10.1.2.3'],
      certFile: join(dir, 'old.crt'),
      keyFile: join(dir, 'old.key'),
    });
    const renewed = await store.renew(
      { certFile: old.certFile },
      { certFile: join(dir, 'new.crt'), keyFile: join(dir, 'new.key'), revokeOld: true },
    );
    assert.notEqual(renewed.entry.serial, old.entry.serial);
    assert.equal(renewed.entry.renewedFrom, old.entry.serial);
    assert.deepEqual(renewed.entry.sans, ['DNS:pg.internal', 'IP:10.1.2.3']);
    const fresh = await verify(
      store,
      renewed.certFile,
      '-verify_ip',
      '10.1.2.3',
      '-crl_check_all',
      '-CRLfile',
      store.layout.crlBundle,
    );
    assert.ok(fresh.ok, fresh.output);
    const stale = await verify(
      store,
      old.certFile,
      '-crl_check_all',
      '-CRLfile',
      store.layout.crlBundle,
    );
    assert.match(stale.output, /certificate revoked/);
  });
});

describe('CA refusals and clocks', () => {
  /** A CA with root and intermediate, in its own directory. */
  async function freshCa(name: string, options: ConstructorParameters<typeof CaStore>[1] = {}) {
    const store = new CaStore(join(workDir, name, 'ca'), options);
    await store.init();
    await store.createIntermediate();
    return store;
  }

  function isCaError(code: string, pattern: RegExp) {
    return (error: unknown) =>
      error instanceof PgTunnelError && error.code === code && pattern.test(error.message);
  }

  it('writes CRLs that a peer whose clock runs a minute behind already accepts', async () => {
    const store = await freshCa('clock');
    const client = await store.issue({
      kind: 'client',
      commonName: 'alice',
      certFile: join(workDir, 'clock', 'alice.crt'),
      keyFile: join(workDir, 'clock', 'alice.key'),
    });
    await store.writeCrls();
    const aMinuteAgo = String(Math.floor(Date.now() / 1000) - 60);
    const behind = await verify(
      store,
      client.certFile,
      '-attime',
      aMinuteAgo,
      '-crl_check_all',
      '-CRLfile',
      store.layout.crlBundle,
    );
    assert.ok(behind.ok, `a fresh CRL must not be "not yet valid": ${behind.output}`);
  });

  it('refuses a --days that ends after the year 9999, before creating anything', async () => {
    const dir = join(workDir, 'far-future');
    await assert.rejects(
      new CaStore(dir).init({ days: 1e9 }),
      isCaError('ERR_USAGE', /--days 1000000000 would make the certificate end after 9999-12-31/),
    );
    await assert.rejects(stat(dir), /ENOENT/, 'no CA directory for a refused init');
    const store = await freshCa('far-future-crl');
    await assert.rejects(
      store.writeCrls({ days: 3_000_000 }),
      isCaError('ERR_USAGE', /--days 3000000 would make the CRL end after 9999-12-31/),
    );
  });

  it('refuses to sign with an expired intermediate and names the fix', async () => {
    const dir = join(workDir, 'expired-ca');
    const store = new CaStore(join(dir, 'ca'));
    await store.init();
    const now = Date.now();
    await store.createIntermediate({
      notBefore: new Date(now - 3 * 86_400_000),
      notAfter: new Date(now - 86_400_000),
    });
    const before = (await store.list()).length;
    await assert.rejects(
      store.issue({
        kind: 'client',
        commonName: 'alice',
        certFile: join(dir, 'alice.crt'),
        keyFile: join(dir, 'alice.key'),
      }),
      isCaError(
        'ERR_CA_EXPIRED',
        /the intermediate CA \(.*intermediate\/ca\.crt\) expired on .* `pgtunnel ca intermediate --force`/,
      ),
    );
    await assert.rejects(stat(join(dir, 'alice.key')), /ENOENT/);
    assert.equal((await store.list()).length, before, 'nothing recorded');
    await store.createIntermediate({ force: true });
    await store.issue({
      kind: 'client',
      commonName: 'alice',
      certFile: join(dir, 'alice.crt'),
      keyFile: join(dir, 'alice.key'),
    });
  });

  it('refuses a CA key that does not belong to its certificate', async () => {
    const store = await freshCa('swapped-key');
    const other = await freshCa('other-key');
    await writeFile(
      store.layout.level('intermediate').key,
      await readFile(other.layout.level('intermediate').key),
    );
    const certFile = join(workDir, 'swapped-key', 'x.crt');
    await assert.rejects(
      new CaStore(store.layout.dir).issue({
        kind: 'client',
        commonName: 'x',
        certFile,
        keyFile: join(workDir, 'swapped-key', 'x.key'),
      }),
      isCaError(
        'ERR_CA_DAMAGED',
        /intermediate\/ca\.key is not the private key of .*intermediate\/ca\.crt/,
      ),
    );
    await assert.rejects(stat(certFile), /ENOENT/, 'no certificate nothing could verify');
  });

  it('names a damaged CA certificate instead of quoting the ASN.1 parser alone', async () => {
    const store = await freshCa('damaged');
    const cert = store.layout.level('root').cert;
    await writeFile(cert, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    await assert.rejects(
      new CaStore(store.layout.dir).writeCrls(),
      isCaError(
        'ERR_CA_DAMAGED',
        /root\/ca\.crt is damaged: not a valid X\.509 certificate .*backup/,
      ),
    );
  });

  it('records the issuing CA, so certificates under a replaced intermediate show as untrusted', async () => {
    const store = await freshCa('issuer');
    const leaf = await store.issue({
      kind: 'server',
      commonName: 'db.internal',
      certFile: join(workDir, 'issuer', 'db.crt'),
      keyFile: join(workDir, 'issuer', 'db.key'),
    });
    const first = (await store.list()).find((e) => e.kind === 'intermediate')!;
    assert.equal(leaf.entry.issuerSerial, first.serial);
    assert.equal(revokedIssuer(await store.list(), leaf.entry), undefined);
    await store.createIntermediate({ force: true });
    const entries = await store.list();
    assert.equal(revokedIssuer(entries, leaf.entry)?.serial, first.serial);
    // The old intermediate itself is in the root CRL ...
    const oldCa = await openssl(
      'verify',
      '-CAfile',
      store.layout.level('root').cert,
      '-crl_check',
      '-CRLfile',
      store.layout.level('root').crl,
      store.layout.issued(first.serial),
    );
    assert.equal(oldCa.ok, false);
    assert.match(oldCa.output, /certificate revoked/);
    // ... and the leaf it signed no longer verifies with the published CRLs.
    const result = await openssl(
      'verify',
      '-CAfile',
      store.layout.level('root').cert,
      '-untrusted',
      leaf.certFile,
      '-crl_check_all',
      '-CRLfile',
      store.layout.crlBundle,
      leaf.certFile,
    );
    assert.equal(result.ok, false, result.output);
  });

  it('asks for the passphrase once, when a key is encrypted, and encrypts new CA keys with it', async () => {
    const dir = join(workDir, 'asked', 'ca');
    await new CaStore(dir, { passphrase: 'typed at a prompt' }).init();
    const asked: string[] = [];
    const askPassphrase = async (keyFile: string) => {
      asked.push(keyFile);
      return 'typed at a prompt';
    };
    const store = new CaStore(dir, { askPassphrase });
    await store.createIntermediate();
    assert.deepEqual(asked, [join(dir, 'root', 'ca.key')]);
    const intermediateKey = join(dir, 'intermediate', 'ca.key');
    assert.match(await readFile(intermediateKey, 'utf8'), /BEGIN ENCRYPTED PRIVATE KEY/);
    const opened = await openssl(
      'pkey',
      '-in',
      intermediateKey,
      '-passin',
      'pass:typed at a prompt',
      '-noout',
    );
    assert.ok(opened.ok, opened.output);

    // Both CA keys are needed for the CRLs, signed in parallel: still one question.
    asked.length = 0;
    await new CaStore(dir, { askPassphrase }).writeCrls();
    assert.equal(asked.length, 1);
    // Unencrypted keys need no question at all.
    const plain = await freshCa('asked-plain', { askPassphrase });
    asked.length = 0;
    await new CaStore(plain.layout.dir, { askPassphrase }).writeCrls();
    assert.equal(asked.length, 0);
  });
});
