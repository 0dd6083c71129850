// Writes docs/configuration.md and etc/pgtunnel.conf.sample from the settings table.
import { writeFileSync } from 'node:fs';
import {
  renderErrorCodesMarkdown,
  renderSampleConfig,
  renderSettingsMarkdown,
} from '../src/config/describe.js';
import { ErrorCodes } from '../src/errors.js';

writeFileSync('docs/configuration.md', renderSettingsMarkdown());
writeFileSync('etc/pgtunnel.conf.sample', renderSampleConfig());
writeFileSync('docs/errors.md', renderErrorCodesMarkdown(ErrorCodes));
console.log('wrote docs/configuration.md, docs/errors.md and etc/pgtunnel.conf.sample');
