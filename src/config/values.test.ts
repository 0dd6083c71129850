// PostgreSQL's spellings of booleans, integers and durations.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBoolean, parseDuration, parseEnum, parseInteger } from './values.js';

describe('setting values', () => {
  it('parses booleans as PostgreSQL does, prefixes included', () => {
    for (const yes of ['on', 'ON', 'true', 't', 'yes', 'y', '1'])
      assert.equal(parseBoolean(yes), true, yes);
    for (const no of ['off', 'false', 'f', 'no', 'n', '0', 'of'])
      assert.equal(parseBoolean(no), false, no);
    for (const bad of ['o', 'maybe', '', '2'])
      assert.throws(() => parseBoolean(bad), /requires a Boolean value/, bad);
  });

  it('parses integers with range checks, and octal for permissions', () => {
    assert.equal(parseInteger('5432', 1, 65535), 5432);
    assert.equal(parseInteger('0770', 0, 0o777), 0o770);
    assert.throws(
      () => parseInteger('70000', 1, 65535),
      /70000 is outside the valid range \(1 \.\. 65535\)/,
    );
    assert.throws(() => parseInteger('12abc', 1, 10), /requires an integer value/);
  });

  it('parses durations with units; a bare number uses the default unit', () => {
    assert.equal(parseDuration('60', 's', 0, 1e9), 60_000);
    assert.equal(parseDuration('250ms', 's', 0, 1e9), 250);
    assert.equal(parseDuration('2min', 's', 0, 1e9), 120_000);
    assert.equal(parseDuration('1.5s', 's', 0, 1e9), 1500);
    assert.throws(() => parseDuration('5 weeks', 's', 0, 1e9), /valid units/);
    assert.throws(
      () => parseDuration('0', 's', 1000, 600_000),
      /outside the valid range \(1s \.\. 600s\)/,
    );
  });

  it('parses enums case-insensitively and lists the choices', () => {
    assert.equal(parseEnum('tlsv1.3', ['TLSv1.2', 'TLSv1.3'] as const), 'TLSv1.3');
    assert.throws(
      () => parseEnum('SSLv3', ['TLSv1.2', 'TLSv1.3'] as const),
      /must be one of: TLSv1\.2, TLSv1\.3/,
    );
  });
});
