// The settings reference and the sample configuration are generated from the settings table;
// this test fails when either file is out of date (regenerate with `npm run docs`).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseConf } from './conf-file.js';
import { renderSampleConfig, renderSettingsMarkdown } from './describe.js';
import { fileReader } from './load.js';
import { SETTINGS } from './settings.js';

describe('generated configuration docs', () => {
  it('docs/configuration.md matches the settings table', () => {
    assert.equal(readFileSync('docs/configuration.md', 'utf8'), renderSettingsMarkdown());
  });

  it('etc/pgtunnel.conf.sample matches the settings table', () => {
    assert.equal(readFileSync('etc/pgtunnel.conf.sample', 'utf8'), renderSampleConfig());
  });

  it('the sample, uncommented, parses and sets every setting to its default', () => {
    const text = renderSampleConfig()
      .split('\n')
      .map((line) => (/^#[a-z_]+ = /.test(line) ? line.slice(1) : line))
      .join('\n');
    const entries = parseConf(text, 'sample.conf', fileReader);
    assert.deepEqual(
      entries.map((e) => e.name),
      Object.keys(SETTINGS),
    );
    for (const entry of entries) {
      assert.equal(entry.value, SETTINGS[entry.name as keyof typeof SETTINGS].default, entry.name);
    }
  });
});
