// scripts/run-tests.sh: a run interrupted by Ctrl-C, a test that fails without cleaning up, and a
// test file killed outright leave nothing behind (test/helpers/runner-fixture.ts has the fixture
// and the checks).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertNothingLeft, runFixture } from '../helpers/runner-fixture.js';

describe('scripts/run-tests.sh leaves nothing behind', () => {
  it('when the run is interrupted (Ctrl-C)', async () => {
    const outcome = await runFixture({
      mode: 'hang',
      cut: (_state, runner) => process.kill(runner.pid, 'SIGINT'),
    });
    assert.ok(outcome.state, `the fixture never got going:\n${outcome.output}`);
    assert.equal(outcome.code, 130);
    assert.match(outcome.output, /interrupted by SIGINT/);
    assert.doesNotMatch(outcome.output, /left behind|FAIL: the tests left/);
    await assertNothingLeft(outcome);
  });

  it('when a test fails without stopping what it started', async () => {
    const outcome = await runFixture({ mode: 'fail' });
    assert.ok(outcome.state, `the fixture never got going:\n${outcome.output}`);
    assert.equal(outcome.code, 1);
    assert.match(outcome.output, /fails on purpose/);
    assert.match(outcome.output, /test file left 3 process group\(s\) running; they were stopped/);
    assert.doesNotMatch(outcome.output, /left behind|FAIL: the tests left/);
    await assertNothingLeft(outcome);
  });

  it('when a test file is killed outright (SIGKILL): the runner reaps and fails the run', async () => {
    const outcome = await runFixture({
      mode: 'hang',
      cut: (state) => process.kill(state.testFile, 'SIGKILL'),
    });
    assert.ok(outcome.state, `the fixture never got going:\n${outcome.output}`);
    assert.equal(outcome.code, 1);
    assert.match(outcome.output, /FAIL: the tests left the processes above behind/);
    assert.match(outcome.output, /FAIL: the tests left these temp files behind/);
    await assertNothingLeft(outcome);
  });
});
