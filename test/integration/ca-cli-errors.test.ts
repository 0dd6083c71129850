// `pgtunnel ca` refuses clearly: no CA yet, a missing or wrong passphrase, a file that would be
// overwritten, a bad SAN or key type. Each failure names the problem and the fix, changes nothing
// on disk, and never prints key material.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type RunResult, run } from '../helpers/run.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

async function ca(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  const result = await run(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'ca', ...args],
    {
      cwd: repo,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      timeoutMs: 30_000,
    },
  );
  // Whatever happens, no private key may reach the terminal.
  assert.doesNotMatch(result.stdout + result.stderr, /PRIVATE KEY|BEGIN [A-Z ]*KEY/);
  return result;
}

function assertFails(result: RunResult, pattern: RegExp): void {
  assert.notEqual(result.code, 0, `expected failure, got success:\n${result.stdout}`);
  assert.match(result.stderr, pattern);
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
      /root\/ca\.key is encrypted; give its passphrase with --passphrase-file FILE or the PGTUNNEL_CA_PASSPHRASE/,
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
});
