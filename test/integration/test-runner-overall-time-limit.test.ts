// scripts/run-tests.sh: a run cut off by its overall time limit leaves nothing behind
// (test/helpers/runner-fixture.ts has the fixture and the checks).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runUntilCutOffWhenUp } from '../helpers/runner-fixture.js';

describe('scripts/run-tests.sh leaves nothing behind', () => {
  it('when the run reaches the overall time limit (TEST_RUN_TIMEOUT_S)', async () => {
    const outcome = await runUntilCutOffWhenUp(
      'TEST_RUN_TIMEOUT_S',
      15,
      /the overall time limit \(\d+ s\) was reached/,
    );
    assert.equal(outcome.code, 124);
    assert.match(outcome.output, /the overall time limit \(\d+ s\) was reached/);
    assert.doesNotMatch(outcome.output, /left behind|FAIL: the tests left/);
  });
});
