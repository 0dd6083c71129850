// /ready's decision as a table: not ready while starting or stopping, ready while serving or reloading.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readiness } from './readiness.js';

describe('readiness', () => {
  const table = [
    { state: 'listening', listening: 1, expect: { ready: true, reason: 'ready' } },
    { state: 'reloading', listening: 2, expect: { ready: true, reason: 'ready' } },
    { state: 'listening', listening: 0, expect: { ready: false, reason: 'starting' } },
    { state: 'stopping', listening: 1, expect: { ready: false, reason: 'stopping' } },
  ] as const;
  for (const row of table) {
    it(`${row.state} with ${row.listening} listener(s) → ${row.expect.reason}`, () => {
      assert.deepEqual(readiness(row.state, row.listening), row.expect);
    });
  }
});
