// Proxy CPU seconds per GB of COPY through the client-side TLS hops and their stunnel
// references, interleaved, median of BENCH_REPEAT runs. BENCH_COPY_MB sets the size.
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
import { measureCpu, median } from './proxy-cpu.js';

const MB = Number(process.env.BENCH_COPY_MB ?? 300);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);

async function main(): Promise<void> {
  const build = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');
  const pki = await createTestPki();
  const cluster = await startCluster({ ssl: { certFile: pki.serverCert, keyFile: pki.serverKey } });
  const hops: Hop[] = [];
  try {
    for (const hop of [
      await startStunnelPgsqlHop(cluster),
      await startConnectHop(cluster, true),
      await startStunnelPairHop(cluster, pki),
      await startRawPairHop(cluster, pki, true),
    ])
      if (hop) hops.push(hop);
    const sql = copySql(MB);
    const samples = new Map<Hop, number[]>(hops.map((h) => [h, []]));
    for (let i = 0; i < REPEAT; i++) {
      for (const hop of hops) {
        const { result, cpu } = await measureCpu(hop.pids, () => copyOut(hop.conninfo, sql));
        samples.get(hop)?.push(cpu / (result.bytes / 1e9));
      }
    }
    console.log(
      `load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}, ${MB} MB COPY`,
    );
    for (const hop of hops) {
      const s = samples.get(hop) ?? [];
      console.log(
        `${hop.label}: ${median(s).toFixed(2)} s/GB  [${s.map((x) => x.toFixed(2)).join(', ')}]`,
      );
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
