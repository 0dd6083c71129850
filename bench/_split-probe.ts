import { copyOut, copySql } from '../test/helpers/copy-out.js';
import { startCluster } from '../test/helpers/pg-cluster.js';
import { createTestPki } from '../test/helpers/pki.js';
import { measureCpu } from './proxy-cpu.js';
import { startRawPairHop, startStunnelPairHop } from './tls-hops.js';

const pki = await createTestPki();
const cluster = await startCluster({ ssl: { certFile: pki.serverCert, keyFile: pki.serverKey } });
for (const hop of [
  (await startStunnelPairHop(cluster, pki))!,
  await startRawPairHop(cluster, pki, true),
]) {
  for (let i = 0; i < 2; i++) {
    const before = hop.pids.map((p) => measureCpu([p], async () => 0));
    const { processTree, cpuSeconds } = await import('./proxy-cpu.js');
    const b = hop.pids.map((p) => cpuSeconds(processTree(p)));
    const r = await copyOut(hop.conninfo, copySql(200));
    const a = hop.pids.map((p) => cpuSeconds(processTree(p)));
    console.log(
      hop.label,
      a.map((x, j) => ((x - (b[j] ?? 0)) / (r.bytes / 1e9)).toFixed(2)).join(' / '),
      r.mbPerSecond.toFixed(0),
      'MB/s',
    );
    void before;
  }
  await hop.stop();
}
await cluster.stop();
await pki.cleanup();
