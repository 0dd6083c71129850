// `npm run bench`: throughput of `pgtunnel serve` as a ratio of direct PostgreSQL TLS, both
// measured in this run on this machine: pgbench select-only (-S, 8 clients), a new connection
// per transaction (-C), and COPY of about 1 GB out of the server; for one worker process and
// for one per core. Also samples the gateway's memory. Goals: -S >= 0.8, -C >= 0.8,
// COPY >= 0.9 of direct TLS. BENCH_SECONDS, BENCH_COPY_ROWS and BENCH_WORKERS adjust it.
// First, the CLI's start-up time (bench/startup.ts; BENCH_ONLY=startup stops after it), then how
// long the tests' throw-away PKI takes to make per key type (speed is measured here, never
// asserted in a test). Last, the proxy's CPU per transaction, per new connection and per GB and
// its idle RSS beside HAProxy, PgBouncer and stunnel4 (bench/proxy-cost.ts; BENCH_ONLY=cost
// skips the throughput table), then the CPU of a full and a resumed TLS handshake by key type
// and the memory of idle sessions (bench/handshake-cost.ts). BENCH_ONLY=throughput,
// BENCH_ONLY=handshake run only that part; BENCH_ONLY=handshake-cpu only the handshake CPU table.

import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackDir } from '../test/helpers/children.js';
import { runPgbench } from '../test/helpers/clients.js';
import { copyOut } from '../test/helpers/copy-out.js';
import { startCluster } from '../test/helpers/pg-cluster.js';
import { PROJECT_ROOT } from '../test/helpers/pgtunnel-process.js';
import { createTestPki } from '../test/helpers/pki.js';
import { measureHandshakeCost, measureSessionMemory } from './handshake-cost.js';
import { startPgbouncer } from './pgbouncer-reference.js';
import { measureProxyCost } from './proxy-cost.js';
import { startBenchGateway } from './serve-gateway.js';
import { measureStartup } from './startup.js';

// Every temp file of the run (clusters, certificates, the references' configs) lands in one
// directory that is removed at the end, however the run ends (a signal included): the
// children.ts reaper stops the processes and removes the directories it tracks.
const benchTmp = mkdtempSync(join(tmpdir(), 'pgtunnel-bench-'));
chmodSync(benchTmp, 0o1777); // the PostgreSQL server runs as another user
process.env.TMPDIR = trackDir(benchTmp);

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const COPY_ROWS = Number(process.env.BENCH_COPY_ROWS ?? 1_000_000); // 1 kB per row ≈ 1 GB
const WORKERS = process.env.BENCH_WORKERS ?? '0';

interface Variant {
  label: string;
  conninfo: string;
  pid: number;
}

async function main(): Promise<void> {
  // Measure the compiled JavaScript, as installed, not the sources run through tsx.
  const build = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');
  for (const line of measureStartup(join(PROJECT_ROOT, 'dist', 'cli', 'main.js'))) log(line);
  log('');
  if (process.env.BENCH_ONLY === 'startup') return;
  await measureTestPki();
  const pki = await createTestPki();
  const cluster = await startCluster({
    ssl: { certFile: pki.serverCert, keyFile: pki.serverKey },
    // 1,100 idle sessions for the memory figures, and the rest
    settings: { max_connections: '1300' },
  });
  const tls = 'user=postgres dbname=postgres sslmode=require';
  const direct = `host=127.0.0.1 port=${cluster.port} ${tls}`;
  const startGateway = async (workers: string) => {
    const { gateway, port } = await startBenchGateway(cluster, pki, { workers: Number(workers) });
    return { gateway, conninfo: `host=127.0.0.1 port=${port} ${tls}` };
  };
  const cores = availableParallelism();
  const single = await startGateway('1');
  const perCore = await startGateway(String(WORKERS === '0' ? cores : WORKERS));
  const pgbouncer = await startPgbouncer(cluster, pki);
  const variants: Variant[] = [
    { label: 'pgtunnel, 1 worker', conninfo: single.conninfo, pid: single.gateway.child.pid ?? 0 },
    {
      label: `pgtunnel, ${WORKERS === '0' ? cores : WORKERS} workers`,
      conninfo: perCore.conninfo,
      pid: perCore.gateway.child.pid ?? 0,
    },
  ];
  if (pgbouncer) {
    variants.push({
      label: 'reference: PgBouncer, session pool',
      conninfo: `host=127.0.0.1 port=${pgbouncer.port} ${tls}`,
      pid: pgbouncer.pid,
    });
  }
  try {
    log(
      `PostgreSQL ${cluster.majorVersion}, ${cores} cores, ${SECONDS}s per pgbench run, sslmode=require, TLS 1.3`,
    );
    const only = process.env.BENCH_ONLY;
    if (only === 'handshake-cpu') {
      // Only the CPU per handshake (no pgbench tables, no memory section): for quick reruns.
      log(`load average ${loadAverage()} at the start`);
      for (const line of await measureHandshakeCost(cluster)) log(line);
      log(`load average ${loadAverage()} at the end`);
      return;
    }
    const init = await runPgbench({
      conninfo: direct,
      args: ['-i', '-s', '10', '-q'],
      timeoutMs: 600_000,
    });
    if (init.code !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);
    async function throughputTable(): Promise<void> {
      const tps = async (conninfo: string, extra: string[]) => {
        const r = await runPgbench({
          conninfo,
          args: ['-S', '-n', '-c', '8', '-j', '2', '-T', String(SECONDS), ...extra],
          timeoutMs: (SECONDS + 120) * 1000,
        });
        if (r.code !== 0) throw new Error(`pgbench failed: ${r.stderr}`);
        const match = /tps = ([\d.]+)/.exec(r.stdout);
        if (!match) throw new Error(`no tps in pgbench output:\n${r.stdout}`);
        return Number(match[1]);
      };
      const copySql = `COPY (SELECT repeat('x', 1000) FROM generate_series(1, ${COPY_ROWS})) TO STDOUT`;
      const copy = async (conninfo: string) => (await copyOut(conninfo, copySql)).mbPerSecond;

      const rows: Array<{
        name: string;
        unit: string;
        goal: number;
        run: (conninfo: string) => Promise<number>;
      }> = [
        { name: 'pgbench -S, 8 clients', unit: 'tps', goal: 0.8, run: (c) => tps(c, []) },
        {
          name: 'pgbench -S -C, new connection per transaction',
          unit: 'tps',
          goal: 0.8,
          run: (c) => tps(c, ['-C']),
        },
        {
          name: `COPY TO STDOUT, ${((COPY_ROWS * 1001) / 1e9).toFixed(2)} GB`,
          unit: 'MB/s',
          goal: 0.9,
          run: copy,
        },
      ];
      log('');
      log(
        `| benchmark | direct TLS | ${variants.map((v) => `${v.label} (ratio)`).join(' | ')} | goal |`,
      );
      log(`|---|---:|${variants.map(() => '---:').join('|')}|---:|`);
      const peaks = variants.map(() => 0);
      for (const row of rows) {
        // Direct first and last, averaged, so drift over the run does not favour either side.
        const before = await row.run(direct);
        const results: number[] = [];
        for (const [i, variant] of variants.entries()) {
          const memory = sampleMemory(variant.pid);
          results.push(await row.run(variant.conninfo));
          peaks[i] = Math.max(peaks[i] ?? 0, memory.stop());
        }
        const after = await row.run(direct);
        const baseline = (before + after) / 2;
        const cells = results.map(
          (r) => `${r.toFixed(0)} ${row.unit} (${(r / baseline).toFixed(2)})`,
        );
        log(
          `| ${row.name} | ${baseline.toFixed(0)} ${row.unit} | ${cells.join(' | ')} | ${row.goal.toFixed(2)} |`,
        );
      }
      log(
        `| peak RSS of the gateway (all its processes) | | ${peaks.map((p) => `${(p / 1024).toFixed(0)} MiB`).join(' | ')} | |`,
      );
    }
    if (only === undefined || only === 'throughput') await throughputTable();
    if (only === undefined || only === 'handshake') {
      log('');
      for (const line of await measureHandshakeCost(cluster)) log(line);
      log('');
      for (const line of await measureSessionMemory(cluster, pki, { warm: 100, count: 1000 })) {
        log(line);
      }
    }
    if (only !== undefined && only !== 'cost') return;
    log('');
    log(`Proxy cost, load average ${loadAverage()} at the start:`);
    log('');
    const copyMb = Math.round((COPY_ROWS * 1001) / 1e6);
    for (const line of await measureProxyCost(cluster, pki, { seconds: SECONDS, copyMb })) {
      log(line);
    }
  } finally {
    await pgbouncer?.stop();
    await single.gateway.stop('SIGINT');
    await perCore.gateway.stop('SIGINT');
    await cluster.stop();
    await pki.cleanup();
  }
}

function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
}

/** Time to make the tests' PKI (two CA levels, server, CRLs, an untrusted CA) per key type. */
async function measureTestPki(): Promise<void> {
  log('| test PKI (createTestPki) | time |');
  log('|---|---:|');
  for (const keyType of ['ecdsa-p256', 'rsa2048', 'ed25519'] as const) {
    const started = performance.now();
    const made = await createTestPki({ keyType });
    const ms = performance.now() - started;
    await made.cleanup();
    log(`| ${keyType} | ${ms.toFixed(0)} ms |`);
  }
  log('');
}

function log(line: string): void {
  console.log(line);
}

/** Peak resident memory (KiB) of a process and its children, sampled every 200 ms. */
function sampleMemory(rootPid: number): { stop(): number } {
  let peak = 0;
  const rss = (pid: number): number => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
        .trim()
        .split(/\s+/)
        .filter(Boolean);
      return kib + children.reduce((sum, child) => sum + rss(Number(child)), 0);
    } catch {
      return 0;
    }
  };
  const timer = setInterval(() => {
    peak = Math.max(peak, rss(rootPid));
  }, 200);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
