import { spawn } from 'node:child_process';
import { copyOut, copySql } from '../test/helpers/copy-out.js';
import { startCluster } from '../test/helpers/pg-cluster.js';
import { createTestPki } from '../test/helpers/pki.js';
import { startConnectHop, startRawPairHop } from './tls-hops.js';

const pki = await createTestPki();
const cluster = await startCluster({ ssl: { certFile: pki.serverCert, keyFile: pki.serverKey } });
for (const hop of [
  await startConnectHop(cluster, true),
  await startRawPairHop(cluster, pki, true),
]) {
  await copyOut(hop.conninfo, copySql(1));
  const traces = hop.pids.map((pid) =>
    spawn(
      'strace',
      [
        '-f',
        '-c',
        '-p',
        String(pid),
        '-e',
        'trace=read,write,readv,writev,sendmsg,recvmsg,epoll_wait,epoll_pwait',
      ],
      { stdio: ['ignore', 'inherit', 'pipe'] },
    ),
  );
  const outs = traces.map((t) => {
    let s = '';
    t.stderr!.on('data', (c) => (s += c));
    return () => s;
  });
  await new Promise((r) => setTimeout(r, 1500));
  await copyOut(hop.conninfo, copySql(50));
  for (const t of traces) t.kill('SIGINT');
  await new Promise((r) => setTimeout(r, 1500));
  console.log('==', hop.label);
  for (const o of outs) console.log(o());
  await hop.stop();
}
await cluster.stop();
await pki.cleanup();
