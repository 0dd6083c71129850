// Runs the pgtunnel CLI as a child process and waits for it to be ready, so integration tests
// drive the product exactly as a user does. Under scripts/run-tests.sh that is the build the run
// made at its start (PGTUNNEL_TEST_CLI); a test file run on its own runs the sources through tsx.
// Either way it is the code of the tree as it is now, never an older dist/.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from './children.js';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAIN = join(PROJECT_ROOT, 'src', 'cli', 'main.ts');

export interface PgtunnelProcess {
  child: ChildProcess;
  /** Everything printed so far on stdout and stderr. */
  output(): string;
  /** Log records (JSON lines on stderr) so far. */
  logs(): Array<Record<string, unknown>>;
  /**
   * Waits until a log line's msg contains `text`; returns that record. Rejects if the process
   * ends without printing it; there is no deadline.
   */
  waitForLog(text: string): Promise<Record<string, unknown>>;
  /** Sends a signal and waits for the exit, however long it takes. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Node's argument list to run the CLI with `args`: the run's build, else the sources. */
export function cliArgs(args: string[]): string[] {
  const built = process.env.PGTUNNEL_TEST_CLI;
  return built ? [built, ...args] : ['--import', 'tsx', MAIN, ...args];
}

export function startPgtunnel(
  args: string[],
  options: {
    env?: NodeJS.ProcessEnv;
    readyText?: string | null;
    /** Run dist/cli/main.js (the caller has just run `npm run build`), as the benchmark does. */
    compiled?: boolean;
    /** Run this main.js instead (another build, which the benchmark compares). */
    cli?: string;
  } = {},
): Promise<PgtunnelProcess> {
  const argv = options.cli
    ? [options.cli, ...args]
    : options.compiled
      ? [join(PROJECT_ROOT, 'dist', 'cli', 'main.js'), ...args]
      : cliArgs(args);
  const child = spawn(process.execPath, argv, {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stderrBuffer = '';
  const records: Array<Record<string, unknown>> = [];
  const waiters: Array<{ text: string; resolve: (r: Record<string, unknown>) => void }> = [];
  const onRecord = (record: Record<string, unknown>) => {
    records.push(record);
    for (const waiter of [...waiters]) {
      if (String(record.msg ?? '').includes(waiter.text)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(record);
      }
    }
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    output += text;
    stderrBuffer += text;
    let newline = stderrBuffer.indexOf('\n');
    while (newline !== -1) {
      const line = stderrBuffer.slice(0, newline);
      stderrBuffer = stderrBuffer.slice(newline + 1);
      if (line.startsWith('{')) {
        try {
          onRecord(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not a log record
        }
      }
      newline = stderrBuffer.indexOf('\n');
    }
  });
  const closed = once(child, 'close');
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));

  const handle: PgtunnelProcess = {
    child,
    output: () => output,
    logs: () => records,
    waitForLog(text) {
      const found = records.find((r) => String(r.msg ?? '').includes(text));
      if (found) return Promise.resolve(found);
      // No deadline: the line comes, or the process ends first (then its whole output has
      // been read, 'close' comes after the last stderr chunk); a hang is the runner's per-file
      // time limit to catch.
      return new Promise((resolve, reject) => {
        const waiter = { text, resolve };
        waiters.push(waiter);
        closed.then(() => {
          if (!waiters.includes(waiter)) return;
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`pgtunnel exited while waiting for log "${text}"; output:\n${output}`));
        });
      });
    },
    async stop(signal = 'SIGTERM') {
      // No SIGKILL after a while: how the process ends is what tests check, and a busy machine
      // must not turn a slow clean stop into a kill; a process that hangs makes its test file
      // hit the runner's per-file time limit, which names it.
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    exited,
  };
  const readyText =
    options.readyText === undefined ? 'ready to accept connections' : options.readyText;
  if (readyText === null) return Promise.resolve(handle);
  return handle.waitForLog(readyText).then(
    () => handle,
    async (error: unknown) => {
      await handle.stop('SIGKILL');
      throw error;
    },
  );
}
