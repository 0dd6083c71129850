// `pgtunnel ca` refuses clearly: no CA yet, a missing or wrong passphrase, a file that would be
// overwritten, a bad SAN or key type. Each failure names the problem and the fix, changes nothing
// on disk, and never prints key material.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CaStore } from '../../src/ca/ca-store.js';
import { runCa } from '../helpers/ca-cli.js';
import type { RunResult } from '../helpers/run.js';

function ca(
  args: string[],
  env: Record<string, string> = {},
  as: { uid?: number; gid?: number } = {},
): Promise<RunResult> {
  return runCa(args, { env, ...as });
}

function assertFails(result: RunResult, pattern: RegExp): void {
  assert.notEqual(result.code, 0, `expected failure, got success:\n${result.stdout}`);
  assert.match(result.stderr, pattern);
  // A clear message, not a crash: one `pgtunnel:` line, no stack trace.
  assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
}

/** A CA with root and intermediate made through the CLI. */
async function makeCa(dir: string): Promise<void> {
  assert.equal((await ca(['init', '--ca-dir', dir])).code, 0);
  assert.equal((await ca(['intermediate', '--ca-dir', dir])).code, 0);
}

describe('pgtunnel ca errors', () => {
  let work: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'pgtunnel-ca-errors-'));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('names the missing CA and the command that creates it', async () => {
    const missing = join(work, 'nothing-here');
    const results = await Promise.all([
      ca(['list', '--ca-dir', missing]),
      ca(['issue', 'client', '--cn', 'alice'], { PGTUNNEL_CA_DIR: missing }),
      ca(['crl', '--ca-dir', missing]),
    ]);
    for (const result of results) {
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        new RegExp(`^pgtunnel: no root CA in ${missing} .*; create one with \`pgtunnel ca init\``),
      );
    }
    await assert.rejects(stat(missing), /ENOENT/, 'a failed command must not create the directory');

    const rootOnly = join(work, 'root-only');
    assert.equal((await ca(['init', '--ca-dir', rootOnly])).code, 0);
    assertFails(
      await ca(['issue', 'server', '--ca-dir', rootOnly, '--cn', 'localhost']),
      /no intermediate CA in .*create it with `pgtunnel ca intermediate`/,
    );
  });

  it('asks for the passphrase of an encrypted CA key and rejects a wrong one', async () => {
    const dir = join(work, 'secret-ca');
    const passFile = join(work, 'passphrase');
    await writeFile(passFile, 'correct horse battery\n', { mode: 0o600 });
    const init = await ca(['init', '--ca-dir', dir, '--passphrase-file', passFile]);
    assert.equal(init.code, 0, init.stderr);
    assert.match(
      await readFile(join(dir, 'root', 'ca.key'), 'utf8'),
      /BEGIN ENCRYPTED PRIVATE KEY/,
    );
    assert.doesNotMatch(init.stdout, /correct horse/);

    assertFails(
      await ca(['intermediate', '--ca-dir', dir]),
      /root\/ca\.key is encrypted; give its passphrase with --passphrase-file FILE \(- reads standard input\) or the PGTUNNEL_CA_PASSPHRASE/,
    );
    const wrong = await ca(['intermediate', '--ca-dir', dir], {
      PGTUNNEL_CA_PASSPHRASE: 'tr0ub4dor',
    });
    assertFails(wrong, /wrong passphrase for .*root\/ca\.key/);
    assert.doesNotMatch(wrong.stderr, /tr0ub4dor/, 'the passphrase itself is never echoed');
    await assert.rejects(stat(join(dir, 'intermediate')), /ENOENT/);
    assertFails(
      await ca(['intermediate', '--ca-dir', dir, '--passphrase-file', join(work, 'absent')]),
      /cannot read --passphrase-file .*absent/,
    );

    const ok = await ca(['intermediate', '--ca-dir', dir], {
      PGTUNNEL_CA_PASSPHRASE: 'correct horse battery',
    });
    assert.equal(ok.code, 0, ok.stderr);
    const issued = await ca([
      'issue',
      'client',
      '--ca-dir',
      dir,
      '--cn',
      'alice',
      '--passphrase-file',
      passFile,
      '--cert-file',
      join(work, 'alice.crt'),
      '--key-file',
      join(work, 'alice.key'),
    ]);
    assert.equal(issued.code, 0, issued.stderr);
  });

  it('never overwrites an existing file without --force, and changes nothing when refusing', async () => {
    const dir = join(work, 'force-ca');
    assert.equal((await ca(['init', '--ca-dir', dir])).code, 0);
    assert.equal((await ca(['intermediate', '--ca-dir', dir])).code, 0);
    const rootBefore = await readFile(join(dir, 'root', 'ca.crt'), 'utf8');
    assertFails(
      await ca(['init', '--ca-dir', dir]),
      /a CA already exists in .*pass --force to replace it/,
    );
    assertFails(
      await ca(['intermediate', '--ca-dir', dir]),
      /an intermediate CA already exists .*pass --force/,
    );
    assert.equal(await readFile(join(dir, 'root', 'ca.crt'), 'utf8'), rootBefore);

    const certFile = join(work, 'db.crt');
    const keyFile = join(work, 'db.key');
    await writeFile(keyFile, 'an existing key that must survive\n', { mode: 0o600 });
    const listBefore = (await ca(['list', '--ca-dir', dir, '--json'])).stdout;
    const args = ['issue', 'server', '--ca-dir', dir, '--cn', 'db.example.test'];
    const refused = await ca([...args, '--cert-file', certFile, '--key-file', keyFile]);
    assertFails(
      refused,
      new RegExp(`refusing to overwrite ${keyFile}; move it away or pass --force`),
    );
    assert.equal(await readFile(keyFile, 'utf8'), 'an existing key that must survive\n');
    await assert.rejects(stat(certFile), /ENOENT/, 'no partial output');
    assert.equal((await ca(['list', '--ca-dir', dir, '--json'])).stdout, listBefore);

    const forced = await ca([...args, '--cert-file', certFile, '--key-file', keyFile, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(await readFile(keyFile, 'utf8'), /BEGIN PRIVATE KEY/);
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
  });

  it('rejects bad input before touching the CA', async () => {
    const dir = join(work, 'input-ca');
    assert.equal((await ca(['init', '--ca-dir', dir])).code, 0);
    assert.equal((await ca(['intermediate', '--ca-dir', dir])).code, 0);
    const out = ['--cert-file', join(work, 'x.crt'), '--key-file', join(work, 'x.key')];
    assertFails(
      await ca(['issue', 'server', '--ca-dir', dir, '--cn', 'db', '--san', 'IP:010.1.1.1', ...out]),
      /"010\.1\.1\.1" in --san IP:010\.1\.1\.1 is not an IP address/,
    );
    assertFails(
      await ca(['issue', 'server', '--ca-dir', dir, '--cn', 'my database', ...out]),
      /--cn must be the host name clients connect to/,
    );
    assertFails(
      await ca(['init', '--ca-dir', join(work, 'dsa'), '--key-type', 'dsa']),
      /unknown key type "dsa"; use one of ecdsa-p256, rsa2048, rsa3072, rsa4096, ed25519/,
    );
    assertFails(
      await ca(['revoke', '--ca-dir', dir, 'not-a-serial']),
      /"not-a-serial" is neither an existing certificate file nor a hexadecimal serial/,
    );
    assertFails(
      await ca(['revoke', '--ca-dir', dir, '0123abcd']),
      /no certificate with serial 123abcd was issued by the CA in/,
    );
    assertFails(
      await ca(['issue', 'server', '--ca-dir', dir, '--cn', 'db', '--libpq']),
      /unknown option '--libpq'/,
    );
    await assert.rejects(stat(join(work, 'x.key')), /ENOENT/);
  });

  it('names damaged or mismatched CA files, and signs nothing with them', async () => {
    const out = ['--cert-file', join(work, 'd.crt'), '--key-file', join(work, 'd.key')];
    const damaged = join(work, 'damaged-ca');
    await makeCa(damaged);
    await writeFile(
      join(damaged, 'intermediate', 'ca.crt'),
      '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
    );
    assertFails(
      await ca(['issue', 'client', '--ca-dir', damaged, '--cn', 'd', ...out]),
      /intermediate\/ca\.crt is damaged: not a valid X\.509 certificate .*; restore the file from a backup/,
    );
    assertFails(
      await ca(['inspect', join(damaged, 'intermediate', 'ca.crt')]),
      /PEM block 1 of \S+ca\.crt \(CERTIFICATE\) is damaged and cannot be read/,
    );

    const swapped = join(work, 'swapped-ca');
    const other = join(work, 'other-ca');
    await Promise.all([makeCa(swapped), makeCa(other)]);
    await writeFile(
      join(swapped, 'intermediate', 'ca.key'),
      await readFile(join(other, 'intermediate', 'ca.key')),
    );
    assertFails(
      await ca(['issue', 'client', '--ca-dir', swapped, '--cn', 'd', ...out]),
      /intermediate\/ca\.key is not the private key of \S+intermediate\/ca\.crt; restore the intermediate CA's key from a backup/,
    );

    const garbled = join(work, 'garbled-ca');
    await makeCa(garbled);
    await writeFile(join(garbled, 'root', 'ca.key'), 'not a key\n');
    assertFails(
      await ca(['crl', '--ca-dir', garbled]),
      /root\/ca\.key is not a readable private key \(damaged or not PEM\); restore it from a backup/,
    );
    await assert.rejects(stat(join(work, 'd.key')), /ENOENT/, 'nothing issued');
  });

  it('refuses to sign with an expired intermediate and says how to replace it', async () => {
    const dir = join(work, 'expired-ca');
    const store = new CaStore(dir);
    await store.init();
    const now = Date.now();
    await store.createIntermediate({
      notBefore: new Date(now - 10 * 86_400_000),
      notAfter: new Date(now - 86_400_000),
    });
    const out = ['--cert-file', join(work, 'e.crt'), '--key-file', join(work, 'e.key')];
    assertFails(
      await ca(['issue', 'client', '--ca-dir', dir, '--cn', 'e', ...out]),
      /the intermediate CA \(\S+\) expired on \d{4}-.* can no longer sign; create a new one with `pgtunnel ca intermediate --force`/,
    );
    assert.equal((await ca(['intermediate', '--ca-dir', dir, '--force'])).code, 0);
    assert.equal((await ca(['issue', 'client', '--ca-dir', dir, '--cn', 'e', ...out])).code, 0);
  });

  it('rejects impossible validity and a missing --cn, and accepts a repeated revoke', async () => {
    const dir = join(work, 'days-ca');
    assertFails(
      await ca(['init', '--ca-dir', dir, '--days', '1e9']),
      /--days 1000000000 would make the certificate end after 9999-12-31/,
    );
    await assert.rejects(stat(dir), /ENOENT/, 'a refused init creates no directory');
    for (const days of ['0', '-3', '2.5', 'ten']) {
      assertFails(
        await ca(['init', '--ca-dir', dir, '--days', days]),
        /argument '.*' is invalid\. expected a whole number of days above 0/,
      );
    }
    await makeCa(dir);
    assertFails(
      await ca(['crl', '--ca-dir', dir, '--days', '5000000']),
      /--days 5000000 would make the CRL end after 9999-12-31/,
    );
    assertFails(
      await ca(['issue', 'client', '--ca-dir', dir]),
      /required option '--cn <user>' not specified/,
    );
    assertFails(
      await ca(['issue', 'server', '--ca-dir', dir, '--san', 'IP:10.0.0.1']),
      /required option '--cn <host>' not specified/,
    );
    const out = ['--cert-file', join(work, 'r.crt'), '--key-file', join(work, 'r.key')];
    assert.equal((await ca(['issue', 'client', '--ca-dir', dir, '--cn', 'r', ...out])).code, 0);
    assert.match((await ca(['revoke', '--ca-dir', dir, join(work, 'r.crt')])).stdout, /^revoked /);
    const again = await ca(['revoke', '--ca-dir', dir, join(work, 'r.crt')]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /was already revoked at \d{4}-/);
  });

  it('says when the CA directory cannot be created or written', async () => {
    const blocker = join(work, 'a-file');
    await writeFile(blocker, '');
    assertFails(
      await ca(['init', '--ca-dir', join(blocker, 'ca')]),
      /cannot create the CA directory \S+a-file\/ca: ENOTDIR.*; choose another --ca-dir/,
    );

    const dir = join(work, 'read-only-ca');
    await makeCa(dir);
    // Root ignores file modes, so as root the command runs as `nobody`; otherwise the mode bites.
    const asOther = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    await chmod(work, 0o755);
    await chmod(dir, 0o555);
    try {
      assertFails(
        await ca(['crl', '--ca-dir', dir], {}, asOther),
        /cannot create \S+index\.lock: EACCES.*; the CA directory must be writable by the user running pgtunnel ca/,
      );
      assertFails(
        await ca(['init', '--ca-dir', join(dir, 'nested')], {}, asOther),
        /cannot create the CA directory \S+nested: EACCES/,
      );
    } finally {
      await chmod(dir, 0o755);
    }
  });
});
