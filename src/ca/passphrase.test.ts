// Passphrase sources: a file's first line, piped standard input, and a no-echo terminal prompt
// (driven here through a stand-in terminal stream).
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { PgTunnelError } from '../errors.js';
import { type PromptStreams, passphraseFromFile, promptPassphrase } from './passphrase.js';

/** A stand-in terminal: records raw-mode switches and what was written to it. */
function fakeTerminal(typed: string[]) {
  const input = new PassThrough() as PassThrough & {
    isTTY: boolean;
    setRawMode(on: boolean): void;
  };
  const rawModes: boolean[] = [];
  input.isTTY = true;
  input.setRawMode = (on: boolean) => {
    rawModes.push(on);
    // Keys arrive only once the terminal is in raw mode, as when a person types them.
    const keys = on ? typed.shift() : undefined;
    if (keys !== undefined) setImmediate(() => input.write(keys));
  };
  let shown = '';
  const output = new PassThrough();
  output.on('data', (chunk: Buffer) => {
    shown += chunk.toString();
  });
  const streams = { input, output } as unknown as PromptStreams;
  return { streams, rawModes, shown: () => shown };
}

function passphraseError(pattern: RegExp) {
  return (error: unknown) =>
    error instanceof PgTunnelError &&
    error.code === 'ERR_CA_PASSPHRASE' &&
    pattern.test(error.message);
}

describe('passphraseFromFile', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pgtunnel-passphrase-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const noInput = { input: Readable.from([]), output: new PassThrough() } as never;

  it('takes the first line of a file, without its line ending', async () => {
    const file = join(dir, 'pass');
    await writeFile(file, 'first line\r\nsecond line\n');
    assert.equal(await passphraseFromFile(file, noInput), 'first line');
  });

  it('refuses an empty or unreadable file, naming it', async () => {
    const empty = join(dir, 'empty');
    await writeFile(empty, '\n');
    await assert.rejects(
      passphraseFromFile(empty, noInput),
      passphraseError(/--passphrase-file .*empty is empty/),
    );
    await assert.rejects(
      passphraseFromFile(join(dir, 'absent'), noInput),
      passphraseError(/cannot read --passphrase-file .*absent: ENOENT/),
    );
  });

  it('reads piped standard input for "-", and refuses it empty', async () => {
    const piped = { input: Readable.from(['from ', 'a pipe\nrest']), output: new PassThrough() };
    assert.equal(await passphraseFromFile('-', piped as never), 'from a pipe');
    await assert.rejects(
      passphraseFromFile('-', noInput),
      passphraseError(/no passphrase was given on standard input/),
    );
  });

  it('prompts on a terminal without echo, twice when creating a key', async () => {
    const terminal = fakeTerminal(['s3cret\r', 's3cret\r']);
    assert.equal(await passphraseFromFile('-', terminal.streams, true), 's3cret');
    assert.equal(terminal.shown(), 'Passphrase for the CA keys: \nRepeat the passphrase: \n');
    assert.deepEqual(terminal.rawModes, [true, false, true, false]);

    const mistyped = fakeTerminal(['s3cret\r', 's3cert\r']);
    await assert.rejects(
      passphraseFromFile('-', mistyped.streams, true),
      passphraseError(/the two passphrases typed differ/),
    );
  });
});

describe('promptPassphrase', () => {
  it('handles backspace and leaves raw mode afterwards', async () => {
    const terminal = fakeTerminal(['pass\u007f\u007fss\u007fsword\n']);
    assert.equal(await promptPassphrase('Passphrase: ', terminal.streams), 'password');
    assert.deepEqual(terminal.rawModes, [true, false]);
    assert.doesNotMatch(terminal.shown(), /pas/, 'nothing typed is echoed');
  });

  it('is cancelled by Ctrl-C and Ctrl-D, and by the end of input', async () => {
    for (const key of ['\u0003', 'abc\u0004']) {
      const terminal = fakeTerminal([key]);
      await assert.rejects(
        promptPassphrase('Passphrase: ', terminal.streams),
        passphraseError(/passphrase entry cancelled/),
      );
      assert.deepEqual(terminal.rawModes, [true, false], 'the terminal is restored');
    }
    const closed = fakeTerminal([]);
    (closed.streams.input as unknown as PassThrough).end();
    await assert.rejects(
      promptPassphrase('Passphrase: ', closed.streams),
      passphraseError(/standard input closed before a passphrase was typed/),
    );
  });
});
