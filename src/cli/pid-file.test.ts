// PID files: a live owner is refused, a stale file is taken over, removal only of our own.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PgTunnelError } from '../errors.js';
import { checkPidFile, removePidFile, writePidFile } from './pid-file.js';

describe('PID files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgtunnel-pid-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  // a process that has certainly exited
  const deadPid = spawnSync(process.execPath, ['-e', '0']).pid;

  it('writes our PID and removes the file at exit', () => {
    const path = join(dir, 'a.pid');
    writePidFile(path);
    assert.equal(readFileSync(path, 'utf8'), `${process.pid}\n`);
    removePidFile(path);
    assert.equal(existsSync(path), false);
  });
  it('refuses a file naming another running process', () => {
    const path = join(dir, 'b.pid');
    writeFileSync(path, `${process.ppid}\n`);
    for (const attempt of [() => checkPidFile(path), () => writePidFile(path)]) {
      assert.throws(attempt, (error: unknown) => {
        assert.ok(error instanceof PgTunnelError);
        assert.equal(error.code, 'ERR_PID_FILE');
        assert.match(
          error.message,
          new RegExp(`names process ${process.ppid}, which is still running`),
        );
        return true;
      });
    }
    assert.equal(readFileSync(path, 'utf8'), `${process.ppid}\n`);
    // and another process's file is not ours to remove
    removePidFile(path);
    assert.equal(existsSync(path), true);
  });
  it('takes over a stale file whose process is gone', () => {
    const path = join(dir, 'c.pid');
    writeFileSync(path, `${deadPid}\n`);
    writePidFile(path);
    assert.equal(readFileSync(path, 'utf8'), `${process.pid}\n`);
  });
  it('says why a PID file cannot be written', () => {
    assert.throws(
      () => writePidFile(join(dir, 'no-such-dir', 'd.pid')),
      /could not write PID file ".*no-such-dir\/d\.pid": ENOENT/,
    );
  });
});
