// The CA key passphrase never goes on the command line: it comes from a file, from piped
// standard input (`--passphrase-file -`), or from a prompt without echo on a terminal (driven
// here through a real pseudo-terminal made by `script`). Keys at rest are encrypted PKCS#8 that
// openssl opens only with the passphrase.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openssl, runCa } from '../helpers/ca-cli.js';
import { spawn } from '../helpers/children.js';
import { cliArgs, PROJECT_ROOT } from '../helpers/pgtunnel-process.js';

const PASSPHRASE = 'Tr0ub4dor & 3';

const ca = (args: string[], input = '') => runCa(args, { input });

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Runs `pgtunnel ca ARGS` on a pseudo-terminal and types each answer only after its prompt
 * appears, as a person would. Resolves to everything the terminal showed and the exit code.
 */
function caOnTerminal(
  args: string[],
  answers: string[],
): Promise<{ code: number | null; screen: string }> {
  const command = [process.execPath, ...cliArgs(['ca', ...args])].map(shellQuote).join(' ');
  const child = spawn('script', ['-qefc', command, '/dev/null'], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'dumb' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let screen = '';
  let answered = 0;
  const onOutput = (chunk: Buffer) => {
    screen += chunk.toString();
    const prompts = screen.match(/[Pp]assphrase[^:\n]*: /g)?.length ?? 0;
    while (answered < Math.min(prompts, answers.length)) {
      child.stdin.write(`${answers[answered++]}\r`);
    }
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  // Until the session ends; no deadline (the runner's per-file limit catches a hang).
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, screen }));
  });
}

describe('pgtunnel ca passphrase sources', () => {
  let work: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'pgtunnel-ca-passphrase-'));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('reads the passphrase from piped standard input and encrypts the CA keys with it', async () => {
    const dir = join(work, 'piped');
    const init = await ca(['init', '--ca-dir', dir, '--passphrase-file', '-'], `${PASSPHRASE}\n`);
    assert.equal(init.code, 0, init.stderr);
    const inter = await ca(['intermediate', '--ca-dir', dir, '--passphrase-file', '-'], PASSPHRASE);
    assert.equal(inter.code, 0, inter.stderr);
    for (const level of ['root', 'intermediate']) {
      const key = join(dir, level, 'ca.key');
      assert.match(await readFile(key, 'utf8'), /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
      const locked = await openssl(['pkey', '-in', key, '-noout', '-passin', 'pass:']);
      assert.notEqual(locked.code, 0, `${level}: openssl must need the passphrase`);
      const opened = await openssl(['pkey', '-in', key, '-noout', '-passin', `pass:${PASSPHRASE}`]);
      assert.equal(opened.code, 0, `${level}: ${opened.stderr}`);
    }
    const out = ['--cert-file', join(work, 'p.crt'), '--key-file', join(work, 'p.key')];
    const issued = await ca(
      ['issue', 'client', '--ca-dir', dir, '--cn', 'p', '--passphrase-file', '-', ...out],
      `${PASSPHRASE}\n`,
    );
    assert.equal(issued.code, 0, issued.stderr);
    const nothing = await ca(['crl', '--ca-dir', dir, '--passphrase-file', '-']);
    assert.equal(nothing.code, 1);
    assert.match(nothing.stderr, /no passphrase was given on standard input/);
  });

  it('prompts on a terminal without echo, asks twice for a new key, and once to sign', async () => {
    const dir = join(work, 'typed');
    const init = await caOnTerminal(
      ['init', '--ca-dir', dir, '--passphrase-file', '-'],
      [PASSPHRASE, PASSPHRASE],
    );
    assert.equal(init.code, 0, init.screen);
    assert.match(init.screen, /Passphrase for the CA keys: [\s\S]*Repeat the passphrase: /);
    assert.ok(!init.screen.includes(PASSPHRASE), `the passphrase was echoed:\n${init.screen}`);
    const key = join(dir, 'root', 'ca.key');
    const opened = await openssl(['pkey', '-in', key, '-noout', '-passin', `pass:${PASSPHRASE}`]);
    assert.equal(opened.code, 0, opened.stderr);

    // No passphrase option: asked only because the root key is encrypted; the new
    // intermediate key is encrypted with the same answer.
    const inter = await caOnTerminal(['intermediate', '--ca-dir', dir], [PASSPHRASE]);
    assert.equal(inter.code, 0, inter.screen);
    assert.match(inter.screen, /Passphrase for \S+root\/ca\.key: /);
    assert.ok(!inter.screen.includes(PASSPHRASE), `the passphrase was echoed:\n${inter.screen}`);
    assert.match(
      await readFile(join(dir, 'intermediate', 'ca.key'), 'utf8'),
      /BEGIN ENCRYPTED PRIVATE KEY/,
    );

    // Both keys sign CRLs: one question.
    const crl = await caOnTerminal(['crl', '--ca-dir', dir], [PASSPHRASE, PASSPHRASE]);
    assert.equal(crl.code, 0, crl.screen);
    assert.equal(crl.screen.match(/Passphrase for/g)?.length, 1, crl.screen);

    const wrong = await caOnTerminal(['crl', '--ca-dir', dir], ['not it']);
    assert.equal(wrong.code, 1, wrong.screen);
    assert.match(
      wrong.screen,
      /pgtunnel: wrong passphrase for \S+ca\.key: the key could not be decrypted/,
    );

    const mistyped = await caOnTerminal(
      ['init', '--ca-dir', join(work, 'mistyped'), '--passphrase-file', '-'],
      [PASSPHRASE, 'something else'],
    );
    assert.equal(mistyped.code, 1, mistyped.screen);
    assert.match(mistyped.screen, /the two passphrases typed differ; nothing changed/);
  });
});
