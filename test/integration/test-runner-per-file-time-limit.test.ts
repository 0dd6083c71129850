// scripts/run-tests.sh: a file cut off by the per-file time limit leaves nothing behind
// (test/helpers/runner-fixture.ts has the fixture and the checks).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runUntilCutOffWhenUp } from '../helpers/runner-fixture.js';

describe('scripts/run-tests.sh leaves nothing behind', () => {
  it('when a file is cut off by the per-file time limit (TEST_TIMEOUT_MS)', async () => {
    const outcome = await runUntilCutOffWhenUp(
      'TEST_TIMEOUT_MS',
      15_000,
      /test timed out after \d+ms/,
    );
    assert.notEqual(outcome.code, 0);
    assert.match(outcome.output, /test timed out after \d+ms/);
    // The file stopped its own children on SIGTERM; the runner found nothing to clean.
    assert.doesNotMatch(outcome.output, /left behind|FAIL: the tests left/);
  });
});
