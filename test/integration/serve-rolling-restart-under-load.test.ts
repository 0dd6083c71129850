// A rolling restart under load: pgbench opens a new TLS connection per transaction (-C) through
// HAProxy to three gateways for 60 s while each gateway in turn gets SIGTERM and is started
// again. With shutdown_delay, a stopping gateway's /ready answers 503 while it still accepts;
// HAProxy's health check (GET /ready) takes it out before its listener closes, so no
// transaction fails. Run alone, it also prints the figures recorded in docs/kubernetes.md.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runPgbench } from '../helpers/clients.js';
import { type Haproxy, startHaproxy, writeGatewayBehindBalancer } from '../helpers/haproxy.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import { type PgtunnelProcess, startPgtunnel } from '../helpers/pgtunnel-process.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';

interface Gw {
  name: string;
  config: string;
  port: number;
  adminPort: number;
  process: PgtunnelProcess;
}

/** Whether something accepts TCP connections on 127.0.0.1:port right now. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('serve: rolling restart of three gateways behind HAProxy under pgbench -C', () => {
  let pki: TestPki;
  let cluster: Cluster;
  let dir: string;
  let haproxy: Haproxy;
  const gateways: Gw[] = [];
  let frontPort: number;

  before(async () => {
    pki = await createTestPki();
    cluster = await startCluster();
    dir = await mkdtemp(join(tmpdir(), 'pgtunnel-rolling-'));
    const hbaFile = join(dir, 'pg_hba.conf');
    writeFileSync(hbaFile, 'hostssl all all 127.0.0.1/32 trust\n');
    for (let i = 1; i <= 3; i++) {
      const { config, port, adminPort } = await writeGatewayBehindBalancer({
        dir,
        name: `gw${i}`,
        pki,
        cluster,
        hbaFile,
        trustedProxy: '127.0.0.2',
        // Long enough for a health check every 100 ms to see /ready turn 503 on a busy machine.
        extra: ['shutdown_delay = 5s', 'shutdown_timeout = 30s'],
      });
      gateways.push({
        name: `gw${i}`,
        config,
        port,
        adminPort,
        process: await startPgtunnel(['serve', '-f', config]),
      });
    }
    frontPort = await freePort();
    haproxy = await startHaproxy(
      [
        'frontend postgresql',
        `  bind 127.0.0.1:${frontPort}`,
        '  default_backend gateways',
        'backend gateways',
        '  balance roundrobin',
        '  option httpchk GET /ready',
        // A refused connection is retried on another gateway, as any balancer would.
        '  retries 3',
        '  option redispatch',
        '  default-server send-proxy-v2 source 127.0.0.2 inter 100ms fall 1 rise 2',
        ...gateways.map(
          (gw) => `  server ${gw.name} 127.0.0.1:${gw.port} check port ${gw.adminPort}`,
        ),
      ].join('\n'),
    );
    await haproxy.waitForServers(
      gateways.map((gw) => `gateways/${gw.name}`),
      'UP',
    );
  });

  after(async () => {
    await haproxy?.stop();
    for (const gw of gateways) await gw.process.stop('SIGINT');
    await cluster?.stop();
    await pki?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('completes every transaction while each gateway is stopped and started in turn', async () => {
    const script = join(dir, 'select.sql');
    writeFileSync(script, 'SELECT 1;\n');
    let benchDone = false;
    const bench = runPgbench({
      conninfo: `host=localhost hostaddr=127.0.0.1 port=${frontPort} user=postgres dbname=postgres sslmode=verify-full sslrootcert=${pki.caBundle}`,
      args: ['-n', '-C', '-c', '4', '-j', '2', '-T', '60', '-f', script],
      timeoutMs: 600_000,
    }).finally(() => {
      benchDone = true;
    });

    // The restarts begin once pgbench is running (its setup connection made, sessions flowing).
    const accepted = async () => {
      let total = 0;
      for (const gw of gateways) {
        const text = await (await fetch(`http://127.0.0.1:${gw.adminPort}/metrics`)).text();
        for (const line of text.split('\n')) {
          if (line.startsWith('pgtunnel_connections_accepted_total{')) {
            total += Number(line.slice(line.lastIndexOf(' ') + 1));
          }
        }
      }
      return total;
    };
    while ((await accepted()) < 20 && !benchDone) await new Promise((r) => setTimeout(r, 100));

    const restarts: string[] = [];
    for (const gw of gateways) {
      const state = async () =>
        (await haproxy.servers()).find((s) => s.backend === 'gateways' && s.server === gw.name);
      gw.process.child.kill('SIGTERM');
      // HAProxy takes it out because /ready says 503 …
      while ((await state())?.status !== 'DOWN') await new Promise((r) => setTimeout(r, 50));
      // … while its listener still accepts (shutdown_delay has not run out).
      assert.equal(
        await accepts(gw.port),
        true,
        `${gw.name} still listens when HAProxy marks it DOWN`,
      );
      const exit = await gw.process.exited;
      assert.equal(exit.code, 0, gw.process.output());
      const log = gw.process.logs().map((r) => String(r.msg));
      assert.ok(log.includes('not ready; still accepting connections for shutdown_delay'));
      gw.process = await startPgtunnel(['serve', '-f', gw.config]);
      await haproxy.waitForServers([`gateways/${gw.name}`], 'UP');
      restarts.push(gw.name);
    }
    const restartsUnderLoad = !benchDone;
    const result = await bench;
    console.log(result.stdout, result.stderr);
    assert.ok(
      restartsUnderLoad,
      `pgbench ended before the restarts did:\n${result.stdout}${result.stderr}`,
    );
    assert.deepEqual(restarts, ['gw1', 'gw2', 'gw3']);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.doesNotMatch(result.stderr, /aborted|error/i);
    const processed = Number(
      /number of transactions actually processed: (\d+)/.exec(result.stdout)?.[1],
    );
    assert.ok(processed > 0, result.stdout);
    assert.match(result.stdout, /number of failed transactions: 0 \(0\.000%\)/);
  });
});
