// What a new TLS connection costs the proxy, by server key type (RSA-2048 and ECDSA P-256), and
// what a resumed one costs (TLS 1.3 session ticket): `pgtunnel serve` with one worker and with
// two (where a ticket issued by one worker resumes on the other, the primary sharing the ticket
// keys) beside HAProxy with the same certificate, HAProxy measured before and after. Then the
// memory of idle sessions: a serve worker's RSS and what each idle TLS session adds after warm-up.

import type { Cluster } from '../test/helpers/pg-cluster.js';
import { createTestPki, type TestPki } from '../test/helpers/pki.js';
import { startHaproxy } from './haproxy-reference.js';
import { measureCpu, processTree, rssKib } from './proxy-cpu.js';
import { startBenchGateway } from './serve-gateway.js';
import { openIdleSessions, runHandshakes } from './tls-clients.js';

interface Terminator {
  label: string;
  port: number;
  pids: number[];
  stop(): Promise<void>;
}

const HANDSHAKES = Number(process.env.BENCH_HANDSHAKES ?? 600);
const CONCURRENCY = 4;

async function startServe(
  cluster: Cluster,
  pki: TestPki,
  workers: number,
  maxConnections = 500,
): Promise<Terminator> {
  const { gateway, port } = await startBenchGateway(cluster, pki, {
    workers,
    maxConnections,
    extraArgs: ['-c', `max_startup_connections=${maxConnections}`],
  });
  return {
    label: `pgtunnel serve, ${workers} worker${workers === 1 ? '' : 's'}`,
    port,
    pids: [gateway.child.pid ?? 0],
    stop: async () => {
      await gateway.stop('SIGINT');
    },
  };
}

async function startHaproxyTerminator(
  cluster: Cluster,
  pki: TestPki,
): Promise<Terminator | undefined> {
  const haproxy = await startHaproxy(cluster, pki);
  return haproxy
    ? { label: 'HAProxy', port: haproxy.port, pids: [haproxy.pid], stop: haproxy.stop }
    : undefined;
}

/** Proxy CPU per handshake, and the share of handshakes that resumed. */
async function handshakeCost(
  subject: Terminator,
  resume: boolean,
): Promise<{ cpu: number; resumed: number }> {
  const { result, cpu } = await measureCpu(subject.pids, () =>
    runHandshakes(subject.port, { count: HANDSHAKES, concurrency: CONCURRENCY, resume }),
  );
  return { cpu: cpu / HANDSHAKES, resumed: result.resumed / HANDSHAKES };
}

const ms = (seconds: number) => `${(seconds * 1e3).toFixed(2)} ms`;

/** The handshake table and its goals (Markdown lines). */
export async function measureHandshakeCost(cluster: Cluster): Promise<string[]> {
  const lines = [
    `| CPU per TLS handshake (${HANDSHAKES}, ${CONCURRENCY} at a time) | key | full | resumed (ticket) | resumed share |`,
    '|---|---|---:|---:|---:|',
  ];
  const goals: string[] = [];
  for (const keyType of ['rsa2048', 'ecdsa-p256'] as const) {
    const pki = await createTestPki({ keyType });
    const started: Terminator[] = [];
    try {
      const haproxy = await startHaproxyTerminator(cluster, pki);
      if (haproxy) started.push(haproxy);
      const serves = [await startServe(cluster, pki, 1), await startServe(cluster, pki, 2)];
      started.push(...serves);
      // Warm-up: first connections pay for JIT and lazy initialisation.
      for (const s of started)
        await runHandshakes(s.port, { count: 50, concurrency: 2, resume: true });
      const results = new Map<Terminator, { full: number; resumed: number; share: number }>();
      const measure = async (s: Terminator) => {
        const full = await handshakeCost(s, false);
        const resumed = await handshakeCost(s, true);
        return { full: full.cpu, resumed: resumed.cpu, share: resumed.resumed };
      };
      const before = haproxy ? await measure(haproxy) : undefined;
      for (const s of serves) results.set(s, await measure(s));
      if (haproxy && before) {
        const after = await measure(haproxy);
        results.set(haproxy, {
          full: (before.full + after.full) / 2,
          resumed: (before.resumed + after.resumed) / 2,
          share: (before.share + after.share) / 2,
        });
      }
      for (const s of started) {
        const r = results.get(s);
        if (!r) continue;
        lines.push(
          `| ${s.label} | ${keyType} | ${ms(r.full)} | ${ms(r.resumed)} | ${(r.share * 100).toFixed(0)} % |`,
        );
      }
      const mine = results.get(serves[0] as Terminator);
      const ref = haproxy && results.get(haproxy);
      if (mine && ref) {
        const ratio = mine.full / ref.full;
        goals.push(
          `| serve, per new TLS connection (${keyType}) ≤ 1.3× HAProxy | ${ms(mine.full)} | ${ms(ref.full)} | ${ratio.toFixed(2)}× | ${ratio <= 1.3 ? 'yes' : 'no'} |`,
        );
      }
      const two = results.get(serves[1] as Terminator);
      if (two) {
        // Resumption across workers: the same 2-worker gateway, full against resumed.
        const cuts = two.resumed < two.full && two.share >= 0.99;
        goals.push(
          `| serve, 2 workers: a resumed handshake (ticket from either worker) costs less than a full one (${keyType}) | ${ms(two.resumed)}, ${(two.share * 100).toFixed(0)} % resumed | ${ms(two.full)} (full) | ${(two.resumed / two.full).toFixed(2)}× | ${cuts ? 'yes' : 'no'} |`,
        );
      }
    } finally {
      for (const s of started.reverse()) await s.stop();
      await pki.cleanup();
    }
  }
  if (!lines.some((line) => line.startsWith('| HAProxy')))
    goals.push('', 'HAProxy (/usr/sbin/haproxy) is not installed: its reference was skipped.');
  return [
    ...lines,
    '',
    '| goal | pgtunnel | reference | ratio | met |',
    '|---|---:|---:|---:|:---:|',
    ...goals,
  ];
}

/**
 * Idle memory of a serve worker (one process) and the RSS each idle TLS session adds: `warm`
 * sessions first (buffers and pools reach their working size), then `count` more.
 */
export async function measureSessionMemory(
  cluster: Cluster,
  pki: TestPki,
  options: { warm: number; count: number },
): Promise<string[]> {
  const serve = await startServe(cluster, pki, 1, options.warm + options.count + 50);
  const haproxy = await startHaproxyTerminator(cluster, pki);
  const lines = [
    `| idle TLS sessions (after ${options.warm} warm-up sessions) | RSS idle, no session | RSS per added session |`,
    '|---|---:|---:|',
  ];
  const goals: string[] = [];
  try {
    for (const s of [serve, ...(haproxy ? [haproxy] : [])]) {
      const pids = () => s.pids.flatMap(processTree);
      const idle = rssKib(pids());
      const warm = await openIdleSessions(s.port, {
        count: options.warm,
        concurrency: 8,
        user: 'postgres',
      });
      const atWarm = rssKib(pids());
      const more = await openIdleSessions(s.port, {
        count: options.count,
        concurrency: 8,
        user: 'postgres',
      });
      const perSession = (rssKib(pids()) - atWarm) / options.count;
      warm.close();
      more.close();
      lines.push(`| ${s.label} | ${(idle / 1024).toFixed(1)} MiB | ${perSession.toFixed(1)} KiB |`);
      if (s === serve) {
        goals.push(
          `| serve, per idle TLS session ≤ 20 KiB | ${perSession.toFixed(1)} KiB | | | ${perSession <= 20 ? 'yes' : 'no'} |`,
        );
      }
    }
  } finally {
    await haproxy?.stop();
    await serve.stop();
  }
  return [
    ...lines,
    '',
    '| goal | pgtunnel | reference | ratio | met |',
    '|---|---:|---:|---:|:---:|',
    ...goals,
  ];
}
