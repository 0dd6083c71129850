import { spawn } from 'node:child_process';
import { copyOut, copySql } from '../test/helpers/copy-out.js';
import { startCluster } from '../test/helpers/pg-cluster.js';
import { createTestPki } from '../test/helpers/pki.js';
import { startConnectHop, startRawPairHop, startStunnelPgsqlHop } from './tls-hops.js';

const pki = await createTestPki();
const cluster = await startCluster({ ssl: { certFile: pki.serverCert, keyFile: pki.serverKey } });
const which = process.argv[2];
const hop =
  which === 'raw'
    ? await startRawPairHop(cluster, pki, true)
    : which === 'stunnel'
      ? (await startStunnelPgsqlHop(cluster))!
      : await startConnectHop(cluster, true);
await copyOut(hop.conninfo, copySql(1));
const rec = spawn(
  'perf',
  ['record', '-F', '999', '-g', '-o', `/tmp/perf-${which}.data`, '-p', hop.pids.join(',')],
  { stdio: 'ignore' },
);
await new Promise((r) => setTimeout(r, 1000));
await copyOut(hop.conninfo, copySql(200));
rec.kill('SIGINT');
await new Promise((r) => rec.on('exit', r));
await hop.stop();
await cluster.stop();
await pki.cleanup();
