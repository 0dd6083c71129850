// Runs `pgtunnel ca` through the real CLI entry point, as a user would, and checks on every run
// that no private key reaches the terminal, whatever the outcome.
import assert from 'node:assert/strict';
import { cliArgs, PROJECT_ROOT } from './pgtunnel-process.js';
import { type RunResult, run } from './run.js';

export interface CaRunOptions {
  /** Extra environment (HOME for --libpq, a passphrase variable …). */
  env?: Record<string, string>;
  /** Run as another user (to test a directory the CA cannot write). */
  uid?: number;
  gid?: number;
  /** Standard input (a passphrase for `--passphrase-file -`). */
  input?: string;
}

export async function runCa(args: string[], options: CaRunOptions = {}): Promise<RunResult> {
  const result = await run(process.execPath, cliArgs(['ca', ...args]), {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
    uid: options.uid,
    gid: options.gid,
    input: options.input,
  });
  assert.doesNotMatch(result.stdout + result.stderr, /PRIVATE KEY|BEGIN [A-Z ]*KEY/);
  return result;
}

/** `pgtunnel ca ARGS` that must succeed; resolves to its standard output. */
export async function caOk(args: string[], options: CaRunOptions = {}): Promise<string> {
  const result = await runCa(args, options);
  assert.equal(result.code, 0, `pgtunnel ca ${args.join(' ')} failed:\n${result.stderr}`);
  return result.stdout;
}

export function openssl(args: string[]): Promise<RunResult> {
  return run('openssl', args);
}
