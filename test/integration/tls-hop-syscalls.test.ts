// Bulk data through the client-side TLS hops must leave in large writes, not one write(2) per
// TLS record (8 kB from PostgreSQL, 16 kB from Node): a 50 MB COPY through `connect` and through
// `connect --raw` + `serve --raw` is counted with strace, and the relays' write calls per MB
// must stay under a bound the record-by-record path (about 120 and 75 per MB) is far above.
// And where PostgreSQL's plaintext bytes go to a TLS client (`serve`, `serve --raw`), they must
// be read into the shared 256 kB buffer (src/net/shared-read-buffer.ts), not into a fresh
// 64 kB buffer per read: the size each read(2) asks for tells which.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { spawn } from '../helpers/children.js';
import { copyOut, copySql } from '../helpers/copy-out.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { type Hop, startConnectHop, startRawPairHop, startServeHop } from '../helpers/tls-hops.js';

const STRACE = '/usr/bin/strace';
const COPY_MB = 50;
const MAX_WRITES_PER_MB = 40;
const WRITE_CALLS = ['write', 'writev', 'sendmsg', 'sendto'];
/** SHARED_READ_BYTES of src/net/shared-read-buffer.ts; Node's own reads ask for 64 kB. */
const SHARED_READ_BYTES = 256 * 1024;

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

/** `pid` and the processes it started, theirs too (a serve primary's worker). */
function processTree(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    // gone
  }
  return [pid, ...children.flatMap(processTree)];
}

/** Runs strace on `roots`, their threads and children while `work` runs; returns its output. */
async function strace(roots: number[], options: string[], work: () => Promise<void>) {
  // -f follows what a process starts from now on; those already running are named here.
  const pids = roots.flatMap(processTree);
  const strace = spawn(STRACE, ['-f', ...options, ...pids.flatMap((pid) => ['-p', String(pid)])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const attached = new Promise<void>((resolve, reject) => {
    strace.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (pids.every((pid) => output.includes(`Process ${pid} attached`))) resolve();
    });
    strace.once('exit', () => reject(new Error(`strace exited early:\n${output}`)));
  });
  await attached;
  await work();
  const exited = new Promise((resolve) => strace.once('exit', resolve));
  strace.kill('SIGINT');
  await exited;
  return output;
}

/** Counts the system calls of `pids` (and their threads) while `work` runs. */
async function countSyscalls(pids: number[], work: () => Promise<void>) {
  const trace = 'trace=read,write,readv,writev,recvmsg,sendmsg,recvfrom,sendto';
  return parseStraceSummary(await strace(pids, ['-c', '-e', trace], work));
}

/** Bytes that read(2) calls of `pids` returned while `work` ran, by the size they asked for. */
async function bytesReadBySize(pids: number[], work: () => Promise<void>) {
  const output = await strace(pids, ['-e', 'trace=read', '-s', '0'], work);
  const bytes = new Map<number, number>();
  // `[pid 1234] read(19, ""..., 262144) = 262144`, or split in two when another traced
  // process's call came between: `read(19,  <unfinished ...>`, `<... read resumed>""..., …`.
  const call = /\bread(?:\(\d+,| resumed>)[^,]*, (\d+)\)\s+= (\d+)/g;
  for (const match of output.matchAll(call)) {
    const asked = Number(match[1]);
    bytes.set(asked, (bytes.get(asked) ?? 0) + Number(match[2]));
  }
  return bytes;
}

describe('bulk data through the TLS hops', () => {
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

  const assertSharedBufferReads = async (hop: Hop) => {
    hops.push(hop);
    await copyOut(hop.conninfo, copySql(1)); // the session path is compiled and warm
    let bytes = 0;
    const read = await bytesReadBySize(hop.pids, async () => {
      bytes = (await copyOut(hop.conninfo, copySql(COPY_MB))).bytes;
    });
    assert.ok(bytes >= COPY_MB * 0.99 * 1e6, `only ${bytes} bytes arrived`);
    const shared = read.get(SHARED_READ_BYTES) ?? 0;
    assert.ok(
      shared >= bytes * 0.9,
      `${hop.label}: ${shared} of the COPY's ${bytes} bytes read into the shared buffer; bytes by read size: ${JSON.stringify(Object.fromEntries(read))}`,
    );
  };

  it('serve reads the COPY into the shared read buffer', async () => {
    await assertSharedBufferReads(await startServeHop(cluster, pki, false));
  });

  it('serve --raw (behind connect --raw) reads the COPY into the shared read buffer', async () => {
    await assertSharedBufferReads(await startRawPairHop(cluster, pki, false));
  });
});
