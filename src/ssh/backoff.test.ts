// Reconnect delays grow, cap and jitter as documented.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay } from './backoff.js';

describe('backoff', () => {
  it('starts immediately, doubles, and caps', () => {
    const middle = () => 0.5; // no jitter
    const delays = [0, 1, 2, 3, 4, 8, 20].map((n) => backoffDelay(n, { maxMs: 5000 }, middle));
    assert.deepEqual(delays, [0, 500, 1000, 2000, 4000, 5000, 5000]);
  });

  it('spreads by at most ±jitter and never exceeds the cap', () => {
    assert.equal(
      backoffDelay(3, { jitter: 0.2 }, () => 0),
      1600,
    );
    assert.equal(
      backoffDelay(3, { jitter: 0.2 }, () => 1),
      2400,
    );
    assert.equal(
      backoffDelay(30, { maxMs: 1000, jitter: 0.5 }, () => 1),
      1000,
    );
  });
});
