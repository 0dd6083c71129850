// The settings reference and the sample configuration are generated from the settings table;
// this test fails when either file is out of date (regenerate with `npm run docs`).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ErrorCodes } from '../errors.js';
import { parseConf } from './conf-file.js';
import {
  renderErrorCodesMarkdown,
  renderSampleConfig,
  renderSettingsMarkdown,
} from './describe.js';
import { diskFiles } from './file-source.js';
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
    const entries = parseConf(text, 'sample.conf', diskFiles);
    assert.deepEqual(
      entries.map((e) => e.name),
      Object.keys(SETTINGS),
    );
    for (const entry of entries) {
      assert.equal(entry.value, SETTINGS[entry.name as keyof typeof SETTINGS].default, entry.name);
    }
  });

  it('docs/errors.md lists every error code', () => {
    assert.equal(readFileSync('docs/errors.md', 'utf8'), renderErrorCodesMarkdown(ErrorCodes));
  });

  it('every error code in the catalog is used somewhere in src/', () => {
    const sources: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (
          path.endsWith('.ts') &&
          !path.endsWith('.test.ts') &&
          path !== join('src', 'errors.ts')
        ) {
          sources.push(readFileSync(path, 'utf8'));
        }
      }
    };
    walk('src');
    const all = sources.join('\n');
    const unused = Object.keys(ErrorCodes).filter((code) => !all.includes(`'${code}'`));
    assert.deepEqual(unused, [], 'catalogued codes no code raises: remove them or use them');
  });
});
