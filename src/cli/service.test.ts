// The one service lifecycle, driven in a child process with real signals: PID file, ready
// line, SIGTERM smart, SIGINT fast, a second signal escalating, SIGHUP without a reload.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(
  new URL('../../test/fixtures/service/run-service.ts', import.meta.url),
);

interface Child {
  process: ChildProcess;
  lines: string[];
  stderr(): string;
  waitFor(line: string): Promise<void>;
  exited: Promise<number | null>;
}

function start(env: Record<string, string>): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let errors = '';
  const waiters: Array<{ line: string; resolve: () => void }> = [];
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      for (const waiter of waiters.filter((w) => w.line === line)) waiter.resolve();
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    errors += chunk.toString();
  });
  const exited = once(child, 'close').then(([code]) => code as number | null);
  return {
    process: child,
    lines,
    stderr: () => errors,
    exited,
    waitFor: (line) =>
      lines.includes(line)
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            waiters.push({ line, resolve });
            void exited.then((code) =>
              reject(new Error(`exited (${code}) before "${line}": ${lines.join('|')} ${errors}`)),
            );
          }),
  };
}

describe('runService', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgtunnel-service-'));
  const children: ChildProcess[] = [];
  after(() => {
    for (const child of children) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const run = (env: Record<string, string> = {}) => {
    const child = start(env);
    children.push(child.process);
    return child;
  };

  it('writes the PID file before ready; SIGTERM then SIGINT stops smart, then fast', async () => {
    const pidFile = join(dir, 'a.pid');
    const child = run({ PID_FILE: pidFile });
    await child.waitFor('ready');
    assert.equal(readFileSync(pidFile, 'utf8'), `${child.process.pid}\n`);
    child.process.kill('SIGTERM');
    await child.waitFor('stop smart');
    child.process.kill('SIGINT');
    assert.equal(await child.exited, 0);
    assert.deepEqual(child.lines, ['started', 'ready', 'stop smart', 'stop fast', 'cleanup']);
    assert.match(child.stderr(), /second signal: closing all sessions now/);
    assert.equal(existsSync(pidFile), false);
  });

  it('a signal during a fast stop exits at once with 1, removing the PID file', async () => {
    const pidFile = join(dir, 'b.pid');
    const child = run({ PID_FILE: pidFile, HANG_ON_FAST: '1' });
    await child.waitFor('ready');
    child.process.kill('SIGINT');
    await child.waitFor('stop fast');
    child.process.kill('SIGINT');
    assert.equal(await child.exited, 1);
    assert.equal(existsSync(pidFile), false);
  });

  it('SIGQUIT: aborts, cleans up and exits with 1 without a stop, removing the PID file', async () => {
    const pidFile = join(dir, 'q.pid');
    const child = run({ PID_FILE: pidFile });
    await child.waitFor('ready');
    child.process.kill('SIGQUIT');
    assert.equal(await child.exited, 1);
    assert.deepEqual(child.lines, ['started', 'ready', 'abort', 'cleanup']);
    assert.match(child.stderr(), /received immediate shutdown request/);
    assert.equal(existsSync(pidFile), false);
  });

  it('warns on SIGHUP when the service cannot reload, and keeps running', async () => {
    const child = run();
    await child.waitFor('ready');
    child.process.kill('SIGHUP');
    while (!child.stderr().includes('cannot reload')) await once(child.process.stderr!, 'data');
    child.process.kill('SIGINT');
    assert.equal(await child.exited, 0);
  });

  it('refuses to start when the PID file names a live process', async () => {
    const pidFile = join(dir, 'c.pid');
    writeFileSync(pidFile, `${process.pid}\n`);
    const child = run({ PID_FILE: pidFile });
    assert.notEqual(await child.exited, 0);
    assert.equal(child.lines.includes('started'), false);
    assert.match(child.stderr(), /still running/);
    assert.equal(readFileSync(pidFile, 'utf8'), `${process.pid}\n`);
  });
});
