// Start-up time of the `pgtunnel` command as scripts see it: the median wall time of whole
// processes (compiled dist/, as installed), against `node -e 0` measured in turn with it, so
// the ratio holds while the machine's speed drifts. Goals: --version within 3x, ca list
// within 5x of bare Node.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 15);

function wallMs(args: string[], env: NodeJS.ProcessEnv): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { env, stdio: 'ignore' });
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited ${result.status}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** Markdown table lines: command, median ms, bare Node's median ms, ratio, goal. */
export function measureStartup(main: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'pgtunnel-bench-startup-'));
  try {
    const env = { ...process.env, PGTUNNEL_CA_DIR: join(dir, 'ca') };
    wallMs([main, 'ca', 'init'], env);
    const cases = [
      { label: 'pgtunnel --version', args: [main, '--version'], goal: 3 },
      { label: 'pgtunnel ca list', args: [main, 'ca', 'list'], goal: 5 },
      { label: 'pgtunnel --help', args: [main, '--help'], goal: undefined },
    ];
    const lines = [
      `| start-up (median of ${RUNS}) | pgtunnel | node -e 0 | ratio | goal |`,
      '|---|---:|---:|---:|---:|',
    ];
    for (const c of cases) {
      const ours: number[] = [];
      const bare: number[] = [];
      wallMs(c.args, env); // warm the file cache
      for (let i = 0; i < RUNS; i++) {
        ours.push(wallMs(c.args, env));
        bare.push(wallMs(['-e', '0'], env));
      }
      const [a, b] = [median(ours), median(bare)];
      lines.push(
        `| ${c.label} | ${a.toFixed(0)} ms | ${b.toFixed(0)} ms | ${(a / b).toFixed(2)} | ${c.goal ? `${c.goal.toFixed(2)}` : ''} |`,
      );
    }
    return lines;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
