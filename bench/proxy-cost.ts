// What each proxy costs per unit of work, the figure that holds on a shared, busy machine where
// throughput swings minute to minute: CPU seconds (utime + stime of all its processes) per
// pgbench -S transaction, per new TLS connection (-C) and per GB of COPY, and idle RSS, for
// pgtunnel's modes beside references measured in the same run (HAProxy, PgBouncer, stunnel4;
// each skipped with a note when absent). Each reference runs before and after pgtunnel and the
// two are averaged, so drift over the run favours neither. Ends with the goals, met or not.

import { runPgbench } from '../test/helpers/clients.js';
import { copyOut, copySql } from '../test/helpers/copy-out.js';
import type { Cluster } from '../test/helpers/pg-cluster.js';
import type { TestPki } from '../test/helpers/pki.js';
import {
  type Hop,
  startConnectHop,
  startRawPairHop,
  startStunnelPairHop,
  startStunnelPgsqlHop,
} from '../test/helpers/tls-hops.js';
import { startHaproxy } from './haproxy-reference.js';
import { startPgbouncer } from './pgbouncer-reference.js';
import { measureCpu, processTree, rssKib } from './proxy-cpu.js';
import { startBenchGateway } from './serve-gateway.js';

interface Subject {
  label: string;
  conninfo: string;
  pids: number[];
  libpq?: '18';
  stop(): Promise<void>;
}

type Workload = 'transaction' | 'connection' | 'gb';

const TLS = 'user=postgres dbname=postgres sslmode=require';

/** Runs the whole comparison and returns the report's lines (Markdown). */
export async function measureProxyCost(
  cluster: Cluster,
  pki: TestPki,
  options: { seconds: number; copyMb: number },
): Promise<string[]> {
  const lines: string[] = [];
  const notes: string[] = [];
  const subjects: Subject[] = [];
  const started = async <T extends Subject | Hop | undefined>(
    what: string,
    start: () => Promise<T>,
  ): Promise<T | undefined> => {
    const subject = await start();
    if (!subject) notes.push(`${what} is not installed: its reference was skipped.`);
    else subjects.push(subject as Subject);
    return subject;
  };
  try {
    const serve = (await started('pgtunnel', () => startServe(cluster, pki))) as Subject;
    const haproxy = await started('HAProxy (/usr/sbin/haproxy)', async () => {
      const h = await startHaproxy(cluster, pki);
      return h
        ? {
            label: 'HAProxy, TLS terminated (alpn postgresql)',
            conninfo: `host=127.0.0.1 port=${h.port} ${TLS} sslnegotiation=direct`,
            pids: [h.pid],
            libpq: '18' as const,
            stop: h.stop,
          }
        : undefined;
    });
    const pgbouncer = await started('PgBouncer (/usr/sbin/pgbouncer)', async () => {
      const p = await startPgbouncer(cluster, pki);
      return p
        ? {
            label: 'PgBouncer, session pool, client TLS',
            conninfo: `host=127.0.0.1 port=${p.port} ${TLS}`,
            pids: [p.pid],
            stop: p.stop,
          }
        : undefined;
    });
    const connect = (await started('pgtunnel', () => startConnectHop(cluster, true))) as Hop;
    const stunnelPgsql = await started('stunnel4', () => startStunnelPgsqlHop(cluster));
    const rawPair = (await started('pgtunnel', () => startRawPairHop(cluster, pki, true))) as Hop;
    const stunnelPair = await started('stunnel4', () => startStunnelPairHop(cluster, pki));

    const idle = new Map(subjects.map((s) => [s, idleRss(s.pids)]));
    // Idle, before any load. The worker is the primary's child; the goal is for one worker process.
    const children = serve.pids.flatMap(processTree).filter((pid) => !serve.pids.includes(pid));
    const workers = children.length > 0 ? children : serve.pids;
    const workerIdle = rssKib(workers) / 1024 / workers.length;

    // One small COPY each first, so no figure carries start-up work (JIT, first session).
    for (const s of subjects) await copyOut(s.conninfo, copySql(20), s.libpq);
    const costs = new Map<string, number>();
    const cost = async (workload: Workload, subject: Subject) => {
      const { result, cpu } = await measureCpu(subject.pids, () =>
        runWorkload(workload, subject, options),
      );
      return cpu / result;
    };
    const compare = async (workload: Workload, mine: Subject, references: Subject[]) => {
      const before = new Map<Subject, number>();
      for (const ref of references) before.set(ref, await cost(workload, ref));
      costs.set(key(workload, mine), await cost(workload, mine));
      for (const ref of [...references].reverse()) {
        costs.set(key(workload, ref), ((before.get(ref) ?? 0) + (await cost(workload, ref))) / 2);
      }
    };
    const refs = (...list: Array<Subject | Hop | undefined>) =>
      list.filter((s): s is Subject => s !== undefined);
    await compare('transaction', serve, refs(haproxy, pgbouncer));
    await compare('connection', serve, refs(haproxy, pgbouncer));
    await compare('gb', serve, refs(haproxy, pgbouncer));
    await compare('gb', connect, refs(stunnelPgsql));
    await compare('gb', rawPair, refs(stunnelPair));

    const fmt = (workload: Workload, subject: Subject | Hop | undefined) => {
      const value = subject ? costs.get(key(workload, subject as Subject)) : undefined;
      if (value === undefined) return '';
      return workload === 'transaction'
        ? `${(value * 1e6).toFixed(0)} µs`
        : workload === 'connection'
          ? `${(value * 1e3).toFixed(2)} ms`
          : `${value.toFixed(2)} s`;
    };
    lines.push(
      '| proxy CPU (all its processes) | per -S transaction | per new TLS connection (-C) | per GB of COPY | idle RSS |',
      '|---|---:|---:|---:|---:|',
    );
    for (const s of subjects) {
      lines.push(
        `| ${s.label} | ${fmt('transaction', s)} | ${fmt('connection', s)} | ${fmt('gb', s)} | ${((idle.get(s) ?? 0) / 1024).toFixed(0)} MiB |`,
      );
    }
    lines.push('', '| goal | pgtunnel | reference | ratio | met |', '|---|---:|---:|---:|:---:|');
    const goal = (
      name: string,
      workload: Workload,
      mine: Subject | Hop,
      ref: Subject | Hop | undefined,
      limit: number,
    ) => {
      if (!ref) return;
      const a = costs.get(key(workload, mine as Subject)) ?? 0;
      const b = costs.get(key(workload, ref as Subject)) ?? 0;
      const ratio = a / b;
      lines.push(
        `| ${name} ≤ ${limit}× ${ref.label} | ${fmt(workload, mine)} | ${fmt(workload, ref)} | ${ratio.toFixed(2)}× | ${ratio <= limit ? 'yes' : 'no'} |`,
      );
    };
    goal('serve, per -S transaction', 'transaction', serve, haproxy, 1.0);
    goal('serve, per new TLS connection', 'connection', serve, haproxy, 1.3);
    goal('serve, per GB', 'gb', serve, haproxy, 1.1);
    goal('connect, per GB', 'gb', connect, stunnelPgsql, 1.1);
    goal('connect --raw + serve --raw, per GB', 'gb', rawPair, stunnelPair, 1.1);
    lines.push(
      `| serve, idle RSS of a worker process ≤ 40 MiB | ${workerIdle.toFixed(0)} MiB | | | ${workerIdle <= 40 ? 'yes' : 'no'} |`,
    );
    for (const note of notes) lines.push('', note);
  } finally {
    for (const s of subjects.reverse()) await s.stop();
  }
  return lines;
}

function key(workload: Workload, subject: Subject): string {
  return `${workload}:${subject.label}`;
}

function idleRss(pids: number[]): number {
  return rssKib(pids.flatMap(processTree));
}

/** Runs one workload; returns how many units (transactions, connections, GB) it did. */
async function runWorkload(
  workload: Workload,
  subject: Subject,
  options: { seconds: number; copyMb: number },
): Promise<number> {
  if (workload === 'gb') {
    const { bytes } = await copyOut(subject.conninfo, copySql(options.copyMb), subject.libpq);
    return bytes / 1e9;
  }
  const result = await runPgbench({
    conninfo: subject.conninfo,
    ...(subject.libpq ? { libpq: subject.libpq } : {}),
    args: [
      '-S',
      '-n',
      '-c',
      '8',
      '-j',
      '2',
      '-T',
      String(options.seconds),
      ...(workload === 'connection' ? ['-C'] : []),
    ],
    timeoutMs: (options.seconds + 120) * 1000,
  });
  if (result.code !== 0) throw new Error(`pgbench failed (${subject.label}): ${result.stderr}`);
  const processed = /number of transactions actually processed: (\d+)/.exec(result.stdout);
  if (!processed) throw new Error(`no transaction count in pgbench output:\n${result.stdout}`);
  return Number(processed[1]);
}

async function startServe(cluster: Cluster, pki: TestPki): Promise<Subject> {
  const { gateway, port } = await startBenchGateway(cluster, pki, { workers: 1 });
  return {
    label: 'pgtunnel serve, 1 worker',
    conninfo: `host=127.0.0.1 port=${port} ${TLS}`,
    pids: [gateway.child.pid ?? 0],
    stop: async () => {
      await gateway.stop('SIGINT');
    },
  };
}
