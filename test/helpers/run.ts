// Runs a command to completion, capturing its output: the one way tests run external programs
// (psql, pgbench, openssl, ssh-keygen …), each in its own process group, stopped with the test
// file if it is still running then (./children.ts). No deadline unless one is asked for: a
// program that hangs is the runner's per-file time limit to catch, not a guess at how long a
// busy machine needs.
import { spawn } from './children.js';

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string | Buffer;
  /** Kill it after this long (for runs meant to be bounded, such as a soak); none by default. */
  timeoutMs?: number;
  uid?: number | undefined;
  gid?: number | undefined;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the deadline passed and the process was killed. */
  timedOut: boolean;
}

export function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      uid: options.uid,
      gid: options.gid,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`could not run ${command}: ${error.message}`, { cause: error }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
    child.stdin.on('error', () => {}); // the program may exit without reading its input
    child.stdin.end(options.input ?? '');
  });
}
