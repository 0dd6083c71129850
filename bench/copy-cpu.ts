// Proxy CPU seconds per GB of COPY through `serve` and the client-side TLS hops, each beside
// its reference (HAProxy terminating TLS, stunnel4 `protocol=pgsql`, a stunnel4 pair),
// interleaved, median of BENCH_REPEAT runs. BENCH_COPY_MB sets the size; BENCH_HOPS picks
// the pairs (serve,connect,raw; default all).
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { copyOut, copySql } from '../test/helpers/copy-out.js';
import { startCluster } from '../test/helpers/pg-cluster.js';
import { createTestPki } from '../test/helpers/pki.js';
import {
  type Hop,
  startConnectHop,
  startRawPairHop,
  startStunnelPairHop,
  startStunnelPgsqlHop,
} from '../test/helpers/tls-hops.js';
import { startHaproxy } from './haproxy-reference.js';
import { measureCpu, median } from './proxy-cpu.js';
import { startBenchGateway } from './serve-gateway.js';

const MB = Number(process.env.BENCH_COPY_MB ?? 300);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const PAIRS = new Set((process.env.BENCH_HOPS ?? 'serve,connect,raw').split(','));
const TLS = 'user=postgres dbname=postgres sslmode=require';

interface Measured extends Hop {
  libpq?: '18';
}

async function main(): Promise<void> {
  const build = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');
  const pki = await createTestPki();
  const cluster = await startCluster({ ssl: { certFile: pki.serverCert, keyFile: pki.serverKey } });
  const hops: Measured[] = [];
  /** Each pgtunnel hop with the reference it is compared with. */
  const pairs: Array<[Measured, Measured | undefined]> = [];
  const add = (mine: Measured, reference: Measured | undefined) => {
    if (reference) hops.push(reference);
    hops.push(mine);
    pairs.push([mine, reference]);
  };
  try {
    if (PAIRS.has('serve')) {
      const haproxy = await startHaproxy(cluster, pki);
      const { gateway, port } = await startBenchGateway(cluster, pki, { workers: 1 });
      add(
        {
          label: 'pgtunnel serve, 1 worker',
          conninfo: `host=127.0.0.1 port=${port} ${TLS}`,
          pids: [gateway.child.pid ?? 0],
          stop: async () => {
            await gateway.stop('SIGINT');
          },
        },
        haproxy && {
          label: 'reference: HAProxy, TLS terminated',
          conninfo: `host=127.0.0.1 port=${haproxy.port} ${TLS} sslnegotiation=direct`,
          pids: [haproxy.pid],
          libpq: '18',
          stop: haproxy.stop,
        },
      );
    }
    if (PAIRS.has('connect')) {
      const reference = await startStunnelPgsqlHop(cluster);
      add(await startConnectHop(cluster, true), reference);
    }
    if (PAIRS.has('raw')) {
      const reference = await startStunnelPairHop(cluster, pki);
      add(await startRawPairHop(cluster, pki, true), reference);
    }
    // A small COPY through each first, so no figure carries start-up work (JIT, first session).
    for (const hop of hops) await copyOut(hop.conninfo, copySql(20), hop.libpq);
    const sql = copySql(MB);
    const samples = new Map<Hop, number[]>(hops.map((h) => [h, []]));
    const loads: number[] = [];
    for (let i = 0; i < REPEAT; i++) {
      for (const hop of hops) {
        const { result, cpu } = await measureCpu(hop.pids, () =>
          copyOut(hop.conninfo, sql, hop.libpq),
        );
        samples.get(hop)?.push(cpu / (result.bytes / 1e9));
      }
      loads.push(loadavg()[0] ?? 0);
    }
    console.log(
      `load average (1 min) per round ${loads.map((l) => l.toFixed(1)).join(', ')}; ${MB} MB COPY, ${REPEAT} rounds`,
    );
    for (const hop of hops) {
      const s = samples.get(hop) ?? [];
      console.log(
        `${hop.label}: ${median(s).toFixed(2)} s/GB  [${s.map((x) => x.toFixed(2)).join(', ')}]`,
      );
    }
    for (const [mine, reference] of pairs) {
      if (!reference) continue;
      const ratio = median(samples.get(mine) ?? []) / median(samples.get(reference) ?? []);
      console.log(`${mine.label} / ${reference.label}: ${ratio.toFixed(2)}×`);
    }
  } finally {
    for (const hop of hops) await hop.stop();
    await cluster.stop();
    await pki.cleanup();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
