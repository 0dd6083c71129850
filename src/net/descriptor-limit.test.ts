import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { descriptorLimitWarning, descriptorsNeeded, openFileLimit } from './descriptor-limit.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

describe('descriptor limit', () => {
  it('reads the soft limit of open files from /proc/self/limits text', () => {
    assert.equal(openFileLimit(LIMITS), 1024);
    assert.equal(
      openFileLimit(LIMITS.replace('1024                 524288', 'unlimited unlimited')),
      Number.POSITIVE_INFINITY,
    );
    assert.equal(openFileLimit('Limit Soft Hard\n'), undefined);
  });

  it('reads this process limit on Linux', () => {
    const limit = openFileLimit();
    assert.ok(limit !== undefined && limit > 0);
  });

  it('warns only when the connection limits cannot fit', () => {
    const defaults = { max_connections: 100, max_startup_connections: 200 };
    assert.equal(descriptorsNeeded(defaults), 864);
    assert.equal(descriptorLimitWarning(defaults, 864), undefined);
    assert.match(descriptorLimitWarning(defaults, 863) ?? '', /ulimit -n\) is 863.*need up to 864/);
    assert.equal(descriptorLimitWarning(defaults, undefined), undefined);
  });
});
