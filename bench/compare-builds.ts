// Compares `serve` builds by the CPU they spend per unit of work, against one PostgreSQL in the
// same rounds: this tree's build and each build named in BENCH_BUILDS (`label=path/to/main.js`,
// comma-separated; e.g. a checkout of an older commit, built). For 1 and 2 workers: pgbench -S
// and -S -C (8 clients, BENCH_SECONDS each) and a COPY of BENCH_COPY_MB, CPU of all the
// gateway's processes and, with workers, of the main process alone. BENCH_WORKERS lists the
// worker counts (default 1,2). Builds run in the same order in every round; medians of
// BENCH_ROUNDS rounds with their range.
//   BENCH_BUILDS=before=/tmp/old/dist/cli/main.js node --import tsx bench/compare-builds.ts
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackDir } from '../test/helpers/children.js';
import { runPgbench } from '../test/helpers/clients.js';
import { copyOut, copySql } from '../test/helpers/copy-out.js';
import { startCluster } from '../test/helpers/pg-cluster.js';
import { createTestPki } from '../test/helpers/pki.js';
import { cpuSeconds, median, processTree } from './proxy-cpu.js';
import { startBenchGateway } from './serve-gateway.js';

const benchTmp = mkdtempSync(join(tmpdir(), 'pgtunnel-bench-'));
chmodSync(benchTmp, 0o1777); // the PostgreSQL server runs as another user
process.env.TMPDIR = trackDir(benchTmp);

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const COPY_MB = Number(process.env.BENCH_COPY_MB ?? 300);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WORKER_COUNTS = (process.env.BENCH_WORKERS ?? '1,2').split(',').map(Number);

interface Build {
  label: string;
  cli: string | undefined;
}

function buildsToCompare(): Build[] {
  const others = (process.env.BENCH_BUILDS ?? '')
    .split(',')
    .filter(Boolean)
    .map((entry) => {
      const at = entry.indexOf('=');
      if (at < 1) throw new Error(`BENCH_BUILDS: expected label=path, got "${entry}"`);
      return { label: entry.slice(0, at), cli: entry.slice(at + 1) };
    });
  return [...others, { label: 'this tree', cli: undefined }];
}

/** Rows of the table: unit of work, per build, samples of CPU per unit. */
type Samples = Map<string, Map<string, number[]>>;

function add(samples: Samples, row: string, build: string, value: number): void {
  const byBuild = samples.get(row) ?? new Map<string, number[]>();
  samples.set(row, byBuild);
  byBuild.set(build, [...(byBuild.get(build) ?? []), value]);
}

async function main(): Promise<void> {
  const build = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');
  const builds = buildsToCompare();
  const pki = await createTestPki();
  const cluster = await startCluster({ ssl: { certFile: pki.serverCert, keyFile: pki.serverKey } });
  const samples: Samples = new Map();
  const loads: string[] = [];
  try {
    const direct = `host=127.0.0.1 port=${cluster.port} user=postgres dbname=postgres sslmode=require`;
    const init = await runPgbench({ conninfo: direct, args: ['-i', '-s', '10', '-q'] });
    if (init.code !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);
    for (let round = 0; round < ROUNDS; round++) {
      loads.push(loadavg()[0]?.toFixed(1) ?? '?');
      for (const { label, cli } of builds) {
        for (const workers of WORKER_COUNTS) {
          const { gateway, port } = await startBenchGateway(cluster, pki, {
            workers,
            ...(cli ? { cli } : {}),
          });
          const main = gateway.child.pid ?? 0;
          const conninfo = `host=127.0.0.1 port=${port} user=postgres dbname=postgres sslmode=require`;
          try {
            const measure = async (row: string, unit: number, work: () => Promise<number>) => {
              const pids = processTree(main);
              const [all, primary] = [cpuSeconds(pids), cpuSeconds([main])];
              const units = await work();
              add(
                samples,
                `${row}, ${workers} worker${workers > 1 ? 's' : ''}`,
                label,
                ((cpuSeconds(pids) - all) / units) * unit,
              );
              if (workers > 1 && row.startsWith('-C'))
                add(
                  samples,
                  `of which the main process`,
                  label,
                  ((cpuSeconds([main]) - primary) / units) * unit,
                );
            };
            const pgbench = (extra: string[]) => async () => {
              const r = await runPgbench({
                conninfo,
                args: ['-S', '-n', '-c', '8', '-j', '2', '-T', String(SECONDS), ...extra],
              });
              const count = /number of transactions actually processed: (\d+)/.exec(r.stdout);
              if (r.code !== 0 || !count) throw new Error(`pgbench failed: ${r.stderr}`);
              return Number(count[1]);
            };
            await measure('-S transaction (µs)', 1e6, pgbench([]));
            await measure('-C connection (ms)', 1e3, pgbench(['-C']));
            await measure('COPY per GB (s)', 1, async () => {
              const { bytes } = await copyOut(conninfo, copySql(COPY_MB));
              return bytes / 1e9;
            });
          } finally {
            await gateway.stop('SIGINT');
          }
        }
      }
    }
  } finally {
    await cluster.stop();
    await pki.cleanup();
  }
  const labels = builds.map((b) => b.label);
  console.log(
    `CPU of the gateway's processes per unit of work, median [range] of ${ROUNDS} rounds; ${SECONDS} s per pgbench, ${COPY_MB} MB COPY; load average at each round: ${loads.join(', ')}`,
  );
  console.log('');
  console.log(`| per unit of work | ${labels.join(' | ')} |`);
  console.log(`|---|${labels.map(() => '---:').join('|')}|`);
  const digits = (value: number) => (value >= 10 ? value.toFixed(0) : value.toFixed(2));
  for (const [row, byBuild] of samples) {
    const cells = labels.map((label) => {
      const values = byBuild.get(label) ?? [];
      if (values.length === 0) return '';
      return `${digits(median(values))} [${digits(Math.min(...values))}–${digits(Math.max(...values))}]`;
    });
    console.log(`| ${row} | ${cells.join(' | ')} |`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
