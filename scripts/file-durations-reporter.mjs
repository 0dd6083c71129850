// A node:test reporter that prints, at the end of a run, the test files that took longest (the sum
// of their top-level tests' durations), so a slow file is visible in every run's output.
// Used beside the default reporter by scripts/run-tests.sh.
const SHOWN = 15;

export default async function* fileDurations(source) {
  const perFile = new Map();
  for await (const event of source) {
    if ((event.type === 'test:pass' || event.type === 'test:fail') && event.data.nesting === 0) {
      const file = event.data.file ?? '(unknown file)';
      const duration = event.data.details?.duration_ms ?? 0;
      perFile.set(file, (perFile.get(file) ?? 0) + duration);
    }
  }
  if (perFile.size === 0) return;
  const cwd = `${process.cwd()}/`;
  const rows = [...perFile].sort((a, b) => b[1] - a[1]).slice(0, SHOWN);
  const total = [...perFile.values()].reduce((sum, ms) => sum + ms, 0);
  yield `\nslowest test files (sum of their tests; ${perFile.size} files, ${(total / 1000).toFixed(0)} s in all):\n`;
  for (const [file, ms] of rows) {
    yield `${(ms / 1000).toFixed(1).padStart(8)} s  ${file.startsWith(cwd) ? file.slice(cwd.length) : file}\n`;
  }
}
