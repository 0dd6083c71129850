// Writes docs/configuration.md and etc/pgtunnel.conf.sample from the settings table.
import { writeFileSync } from 'node:fs';
import { renderSampleConfig, renderSettingsMarkdown } from '../src/config/describe.js';

writeFileSync('docs/configuration.md', renderSettingsMarkdown());
writeFileSync('etc/pgtunnel.conf.sample', renderSampleConfig());
console.log('wrote docs/configuration.md and etc/pgtunnel.conf.sample');
