// Exit statuses of the command line as docs/errors.md gives them: a usage error (unknown flag or
// command, a missing argument) exits 2 after saying what is wrong; help and --version exit 0.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cliArgs, PROJECT_ROOT } from '../helpers/pgtunnel-process.js';
import { run } from '../helpers/run.js';

const pgtunnel = (args: string[]) => run(process.execPath, cliArgs(args), { cwd: PROJECT_ROOT });

describe('pgtunnel command line', () => {
  for (const [args, message] of [
    [['serve', '--no-such-flag'], /unknown option '--no-such-flag'/],
    [['ssh', '--bogus', 'joe@example.com'], /unknown option '--bogus'/],
    [['ca', 'issue', 'server'], /required option '--cn <host>' not specified/],
    [['no-such-command'], /unknown command 'no-such-command'/],
    [['serve', '-c', 'port'], /^pgtunnel: -c port: expected name=value$/m],
  ] as const) {
    it(`exits 2 for: pgtunnel ${args.join(' ')}`, async () => {
      const result = await pgtunnel([...args]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    });
  }

  it('exits 0 for --help and --version', async () => {
    const help = await pgtunnel(['serve', '--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /Usage: pgtunnel serve/);
    const version = await pgtunnel(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+/);
  });
});
