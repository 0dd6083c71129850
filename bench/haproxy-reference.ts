// HAProxy as a reference point in the benchmark: the cheapest C TLS terminator, in tcp mode
// with `alpn postgresql`, so only libpq 17+ clients with sslnegotiation=direct reach it (HAProxy
// cannot answer an SSLRequest). Used only when Debian's haproxy is installed.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { spawn } from '../test/helpers/children.js';
import type { Cluster } from '../test/helpers/pg-cluster.js';
import type { TestPki } from '../test/helpers/pki.js';
import { freePort } from '../test/helpers/ports.js';

const HAPROXY = '/usr/sbin/haproxy';

export interface HaproxyReference {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

export async function startHaproxy(
  cluster: Cluster,
  pki: TestPki,
): Promise<HaproxyReference | undefined> {
  if (!existsSync(HAPROXY)) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'pgtunnel-bench-haproxy-'));
  const port = await freePort();
  const pem = join(dir, 'server.pem');
  writeFileSync(pem, readFileSync(pki.serverCert) + readFileSync(pki.serverKey, 'utf8'), {
    mode: 0o600,
  });
  const config = join(dir, 'haproxy.cfg');
  writeFileSync(
    config,
    [
      'global',
      '  maxconn 2000',
      '  nbthread 1',
      'defaults',
      '  mode tcp',
      '  timeout connect 5s',
      '  timeout client 1h',
      '  timeout server 1h',
      'frontend postgres',
      `  bind 127.0.0.1:${port} ssl crt ${pem} alpn postgresql`,
      '  default_backend cluster',
      'backend cluster',
      `  server pg 127.0.0.1:${cluster.port}`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(HAPROXY, ['-db', '-f', config], { stdio: 'ignore' });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    if (await answers(port)) return { port, pid: child.pid ?? 0, stop };
    await delay(50);
  }
  await stop();
  return undefined;
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect({ port, host: '127.0.0.1' });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}
