// The command table lists what each command's own module registers, and the version matches
// package.json: `pgtunnel --help` and `--version` are answered from them without loading code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { PGTUNNEL_VERSION } from '../version.js';
import { COMMANDS, requestedCommand } from './command-table.js';

describe('command table', () => {
  for (const entry of COMMANDS) {
    it(`${entry.name}: the table's description is the one its module registers`, async () => {
      const program = new Command();
      (await entry.load())(program);
      const registered = program.commands.find((c) => c.name() === entry.name);
      assert.ok(registered, `${entry.name} registers no command of that name`);
      assert.equal(registered.description(), entry.description);
    });
  }
  it('finds the command in `pgtunnel NAME` and `pgtunnel help NAME`, nothing in options', () => {
    assert.equal(requestedCommand(['ca', 'list'])?.name, 'ca');
    assert.equal(requestedCommand(['help', 'ssh'])?.name, 'ssh');
    assert.equal(requestedCommand(['--version']), undefined);
    assert.equal(requestedCommand(['nosuch']), undefined);
  });
  it('the version is package.json’s', () => {
    const manifest = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    );
    assert.equal(PGTUNNEL_VERSION, manifest.version);
  });
});
