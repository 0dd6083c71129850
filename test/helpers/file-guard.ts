// Loaded by scripts/run-tests.sh into every test file's process (node --import). Gives the file
// its own temp directory under the run's root (TMPDIR, so every mkdtemp(tmpdir()) lands there)
// and, when the file's tests are over — passed, failed, or cut off by the per-file timeout
// (SIGTERM) or an interrupted run — stops every child the helpers started and removes that
// directory. The runner then checks that nothing was left and removes the run's root.
import { chmodSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { after } from 'node:test';
import { reapAll, reapOnExit, trackDir } from './children.js';

const runRoot = process.env.PGTUNNEL_TEST_RUN;
// NODE_TEST_CONTEXT is set in the processes that run test files, not in the runner itself.
if (runRoot && process.env.NODE_TEST_CONTEXT) {
  const fileTmp = mkdtempSync(join(runRoot, 'tmp', 'file-'));
  // Like /tmp: the PostgreSQL server and the non-root users of some tests make their own dirs.
  chmodSync(fileTmp, 0o1777);
  process.env.TMPDIR = trackDir(fileTmp);
  reapOnExit();
  after(() => {
    const { groups } = reapAll();
    if (groups > 0) {
      console.error(`test file left ${groups} process group(s) running; they were stopped`);
    }
  });
}
