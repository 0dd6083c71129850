// For the tests of scripts/run-tests.sh's promise that a test file that fails or is cut off — by
// the per-file time limit, the overall time limit, Ctrl-C, or even SIGKILL — leaves no process and
// no temp directory behind: runs a fixture that starts PostgreSQL, a gateway and a psql session
// through it, cuts the run off once they are all up, and looks for anything left.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { spawn } from './children.js';
import { PROJECT_ROOT } from './pgtunnel-process.js';
import { run } from './run.js';

const FIXTURE = 'test/fixtures/runner/starts-children-then-stops.ts';

interface FixtureState {
  testFile: number;
  pids: Record<string, number>;
  dirs: string[];
}

interface Outcome {
  code: number | null;
  output: string;
  root: string;
  /** What the fixture had started; undefined when the run ended before it was all up. */
  state: FixtureState | undefined;
}

const scratch = await mkdtemp(join(tmpdir(), 'pgtunnel-runner-'));
after(() => rm(scratch, { recursive: true, force: true }));
let runs = 0;

/** Runs the fixture through run-tests.sh; `cut` is called once everything it starts is up. */
export async function runFixture(options: {
  mode: 'hang' | 'fail';
  env?: Record<string, string>;
  cut?: (state: FixtureState, runner: { pid: number }) => void;
}): Promise<Outcome> {
  runs += 1;
  const stateFile = join(scratch, `state-${runs}.json`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // Outside this file's temp dir: unix socket paths of the nested run must stay short.
    TMPDIR: '/tmp',
    FIXTURE_STATE: stateFile,
    FIXTURE_MODE: options.mode,
    ...options.env,
  };
  delete env.NODE_TEST_CONTEXT; // the nested runner is a runner, not one of our test files
  const runner = spawn('bash', ['scripts/run-tests.sh', FIXTURE], {
    cwd: PROJECT_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  runner.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  runner.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => runner.once('close', resolve));
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  let state: FixtureState | undefined;
  while (!ended && !state) {
    if (existsSync(stateFile)) state = JSON.parse(await readFile(stateFile, 'utf8'));
    else await delay(100);
  }
  if (state && options.cut && runner.pid !== undefined) options.cut(state, { pid: runner.pid });
  const code = await exited;
  const root = /run-tests: temp root (\S+)/.exec(output)?.[1];
  assert.ok(root, `run-tests.sh did not name its temp root:\n${output}`);
  return { code, output, root, state };
}

/** Running, that is: a zombie waiting for init to collect its exit status runs no more. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export async function assertNothingLeft(outcome: Outcome): Promise<void> {
  const { root, state, output } = outcome;
  const scan = await run(process.execPath, [
    join(PROJECT_ROOT, 'scripts/test-leftovers.mjs'),
    root,
  ]);
  assert.equal(scan.code, 0, `processes left behind:\n${scan.stderr}\nrun output:\n${output}`);
  assert.equal(existsSync(root), false, `the run's temp root ${root} is still there`);
  for (const [name, pid] of Object.entries(state?.pids ?? {})) {
    assert.equal(running(pid), false, `${name} (pid ${pid}) is still running`);
  }
  for (const dir of state?.dirs ?? [])
    assert.equal(existsSync(dir), false, `${dir} is still there`);
}

/**
 * Runs with a time limit (an environment variable) that must cut the fixture off once it is up;
 * when the run ends before the fixture was up (a very slow machine), tries again with twice the
 * limit. Every attempt must leave nothing behind.
 */
export async function runUntilCutOffWhenUp(
  variable: string,
  firstLimit: number,
  cutOff: RegExp,
): Promise<Outcome> {
  for (let limit = firstLimit; ; limit *= 2) {
    const outcome = await runFixture({ mode: 'hang', env: { [variable]: String(limit) } });
    await assertNothingLeft(outcome);
    assert.match(outcome.output, cutOff, 'the run ended, but not by the time limit');
    if (outcome.state) return outcome;
  }
}
