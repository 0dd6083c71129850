// Raw mode's warnings for the gateway settings it cannot apply, as a table.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../config/load.js';
import type { SettingName } from '../../config/settings.js';
import { RAW_MODE_UNUSED, rawModeWarnings } from './serve-modes.js';

const settingsWith = (...names: SettingName[]) =>
  loadConfig({
    overrides: names.map((name) => ({ name, value: `${name}.conf`, origin: `--${name}` })),
  }).settings;

describe('rawModeWarnings', () => {
  it('says nothing for the defaults', () => {
    assert.deepEqual(rawModeWarnings(settingsWith()), []);
  });

  for (const { name } of RAW_MODE_UNUSED) {
    it(`names ${name} when it is set, and says what to do`, () => {
      const warnings = rawModeWarnings(settingsWith(name));
      assert.equal(warnings.length, 1);
      assert.match(
        warnings[0] ?? '',
        new RegExp(`^${name} is set but serve --raw does not use it: `),
      );
      assert.match(warnings[0] ?? '', /remove it, or run serve without --raw$/);
    });
  }

  it('names every one that is set, in table order', () => {
    assert.deepEqual(
      rawModeWarnings(settingsWith('routes_file', 'hba_file')).map((line) => line.split(' ')[0]),
      ['hba_file', 'routes_file'],
    );
  });
});
