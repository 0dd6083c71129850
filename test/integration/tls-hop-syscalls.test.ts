// Bulk data through the client-side TLS hops must leave in large writes, not one write(2) per
// TLS record (8 kB from PostgreSQL, 16 kB from Node): a 50 MB COPY through `connect` and through
// `connect --raw` + `serve --raw` is counted with strace, and the relays' write calls per MB
// must stay under a bound the record-by-record path (about 120 and 75 per MB) is far above.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { spawn } from '../helpers/children.js';
import { copyOut, copySql } from '../helpers/copy-out.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { type Hop, startConnectHop, startRawPairHop } from '../helpers/tls-hops.js';

const STRACE = '/usr/bin/strace';
const COPY_MB = 50;
const MAX_WRITES_PER_MB = 40;
const WRITE_CALLS = ['write', 'writev', 'sendmsg', 'sendto'];

/** strace -c's summary as calls per system call name. */
function parseStraceSummary(text: string): Map<string, number> {
  const calls = new Map<string, number>();
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    // "% time  seconds  usecs/call  calls  [errors]  syscall"
    if (fields.length < 5 || !/^\d+\.\d+$/.test(fields[0] ?? '')) continue;
    const name = fields[fields.length - 1] ?? '';
    if (name === 'total') continue;
    calls.set(name, Number(fields[3]));
  }
  return calls;
}

/** Counts the system calls of `pids` (and their threads) while `work` runs. */
async function countSyscalls(pids: number[], work: () => Promise<void>) {
  const strace = spawn(
    STRACE,
    [
      '-f',
      '-c',
      '-e',
      'trace=read,write,readv,writev,recvmsg,sendmsg,recvfrom,sendto',
      ...pids.flatMap((pid) => ['-p', String(pid)]),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const attached = new Promise<void>((resolve, reject) => {
    strace.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if ((output.match(/Process \d+ attached/g) ?? []).length >= pids.length) resolve();
    });
    strace.once('exit', () => reject(new Error(`strace exited early:\n${output}`)));
  });
  await attached;
  await work();
  const exited = new Promise((resolve) => strace.once('exit', resolve));
  strace.kill('SIGINT');
  await exited;
  return parseStraceSummary(output);
}

describe('bulk data through the client-side TLS hops', () => {
  let pki: TestPki;
  let cluster: Cluster;
  const hops: Hop[] = [];

  before(async () => {
    assert.ok(existsSync(STRACE), `${STRACE} not found: install the Debian package "strace"`);
    pki = await createTestPki();
    cluster = await startCluster({
      ssl: { certFile: pki.serverCert, keyFile: pki.serverKey },
    });
  });
  after(async () => {
    await Promise.all(hops.map((hop) => hop.stop()));
    await cluster?.stop();
    await pki?.cleanup();
  });

  const assertFewWrites = async (hop: Hop) => {
    hops.push(hop);
    await copyOut(hop.conninfo, copySql(1)); // the session path is compiled and warm
    let bytes = 0;
    const calls = await countSyscalls(hop.pids, async () => {
      bytes = (await copyOut(hop.conninfo, copySql(COPY_MB))).bytes;
    });
    const megabytes = bytes / 1e6;
    assert.ok(megabytes >= COPY_MB * 0.99, `only ${megabytes} MB arrived`);
    const writes = WRITE_CALLS.reduce((sum, name) => sum + (calls.get(name) ?? 0), 0);
    const perMb = writes / megabytes;
    assert.ok(
      perMb <= MAX_WRITES_PER_MB,
      `${hop.label}: ${perMb.toFixed(1)} write calls per MB (at most ${MAX_WRITES_PER_MB}): ${JSON.stringify(Object.fromEntries(calls))}`,
    );
  };

  it('connect (TLS to PostgreSQL) writes the COPY in large writes', async () => {
    await assertFewWrites(await startConnectHop(cluster, false));
  });

  it('connect --raw + serve --raw write the COPY in large writes', async () => {
    await assertFewWrites(await startRawPairHop(cluster, pki, false));
  });
});
