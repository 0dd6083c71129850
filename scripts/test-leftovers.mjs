// Usage: node scripts/test-leftovers.mjs RUN_ROOT [--kill]
// Lists the processes a test run left behind — those carrying the run's mark
// (PGTUNNEL_TEST_RUN=RUN_ROOT in their environment) or working or started inside RUN_ROOT (a
// PostgreSQL server rewrites its environment but keeps its data directory as working directory).
// With --kill, kills them (SIGKILL, whole process group) and waits until they are gone.
// Exits 1 when any were found, 0 otherwise.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const [root, flag] = process.argv.slice(2);
if (!root || root === '/' || !root.startsWith('/')) {
  console.error('usage: node scripts/test-leftovers.mjs RUN_ROOT [--kill]');
  process.exit(2);
}
const mark = `PGTUNNEL_TEST_RUN=${root}`;
const inside = (path) => path === root || path.startsWith(`${root}/`);
const self = new Set([process.pid, process.ppid]);
const ownStat = readFileSync('/proc/self/stat', 'utf8');
const ownGroup = Number(ownStat.slice(ownStat.lastIndexOf(')') + 2).split(' ')[2]);

function read(path) {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

function leftovers() {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (self.has(pid)) continue;
    const stat = read(`/proc/${pid}/stat`)?.toString();
    if (!stat) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || self.has(Number(fields[1]))) continue; // zombies; our own children
    const environ = read(`/proc/${pid}/environ`)?.toString().split('\0') ?? [];
    const cmdline = read(`/proc/${pid}/cmdline`)?.toString().split('\0') ?? [];
    let cwd = '';
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      // exited, or not ours to read
    }
    if (environ.includes(mark) || inside(cwd) || cmdline.some((arg) => arg.includes(`${root}/`))) {
      found.push({ pid, pgid: Number(fields[2]), command: cmdline.join(' ').trim() });
    }
  }
  return found;
}

const found = leftovers();
for (const { pid, command } of found) console.error(`  left behind: pid ${pid}: ${command}`);
if (flag === '--kill' && found.length) {
  for (const { pid, pgid } of found) {
    for (const target of pgid === ownGroup ? [pid] : [-pgid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // gone already, or a group we may not signal
      }
    }
  }
  const deadline = Date.now() + 10_000;
  while (leftovers().length && Date.now() < deadline) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
  const stubborn = leftovers();
  for (const { pid, command } of stubborn)
    console.error(`  could not kill: pid ${pid}: ${command}`);
}
process.exit(found.length ? 1 : 0);
