// PROXY protocol behind a real HAProxy: two gateways behind `send-proxy-v2`, PostgreSQL behind
// them. HAProxy connects to the gateways from 127.0.0.2 (the only trusted address) and psql
// reaches HAProxy from 127.0.0.1, so an hba rule that admits only 127.0.0.1/32 passes only if
// the gateway takes the client from the header. A second HAProxy backend connects from
// 127.0.0.3 (untrusted) and is refused. Raw clients then send their own headers from chosen
// source addresses: a v1 header, a forged address that the hba refuses by name, LOCAL.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { encodeSslRequest } from '../../src/protocol/frontend.js';
import { encodeProxyV2 } from '../../src/protocol/proxy-header.js';
import { psqlOk, runPsql } from '../helpers/clients.js';
import { type Haproxy, startHaproxy, writeGatewayBehindBalancer } from '../helpers/haproxy.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import { type PgtunnelProcess, startPgtunnel } from '../helpers/pgtunnel-process.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { collect, errorFields } from '../helpers/raw-client.js';

interface Gw {
  process: PgtunnelProcess;
  port: number;
  adminPort: number;
}

/** A socket that connects from `localAddress` and sends `header` before anything else. */
function proxiedStream(localAddress: string, header: Buffer) {
  return () =>
    new (class extends Socket {
      override connect(...args: unknown[]): this {
        const [port, host] = args as [number, string];
        super.connect({ port, host, localAddress });
        this.write(header);
        return this;
      }
    })();
}

describe('serve: PROXY protocol behind HAProxy (send-proxy-v2)', () => {
  let pki: TestPki;
  let cluster: Cluster;
  let dir: string;
  let haproxy: Haproxy;
  const gateways: Gw[] = [];
  let trustedPort: number;
  let untrustedPort: number;

  const conninfo = (port: number, extra = '') =>
    `host=localhost hostaddr=127.0.0.1 port=${port} user=postgres dbname=postgres sslmode=verify-full sslrootcert=${pki.caBundle} ${extra}`;
  const admin = async (gw: Gw, path: string) => fetch(`http://127.0.0.1:${gw.adminPort}${path}`);
  const refusedMetric = async (gw: Gw) => {
    const text = await (await admin(gw, '/metrics')).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith('pgtunnel_connections_refused_total{reason="proxy_protocol"}'));
    assert.ok(line, 'the proxy_protocol refusal reason is exported');
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  };

  before(async () => {
    pki = await createTestPki();
    cluster = await startCluster();
    dir = await mkdtemp(join(tmpdir(), 'pgtunnel-proxy-'));
    const hbaFile = join(dir, 'pg_hba.conf');
    // Only the client's own network: HAProxy's address (127.0.0.2) matches no rule.
    writeFileSync(hbaFile, 'hostssl all all 127.0.0.1/32 trust\n');
    for (let i = 0; i < 2; i++) {
      const { config, port, adminPort } = await writeGatewayBehindBalancer({
        dir,
        name: `gw${i}`,
        pki,
        cluster,
        hbaFile,
        trustedProxy: '127.0.0.2/32',
        extra: ['log_connections = on'],
      });
      gateways.push({ process: await startPgtunnel(['serve', '-f', config]), port, adminPort });
    }
    trustedPort = await freePort();
    untrustedPort = await freePort();
    const [gw1, gw2] = gateways as [Gw, Gw];
    haproxy = await startHaproxy(
      [
        'frontend via_trusted',
        `  bind 127.0.0.1:${trustedPort}`,
        '  default_backend gateways',
        'backend gateways',
        '  balance roundrobin',
        // The health check connects, sends a v2 LOCAL header and closes.
        `  server gw1 127.0.0.1:${gw1.port} send-proxy-v2 source 127.0.0.2 check inter 300ms`,
        `  server gw2 127.0.0.1:${gw2.port} send-proxy-v2 source 127.0.0.2 check inter 300ms`,
        'frontend via_untrusted',
        `  bind 127.0.0.1:${untrustedPort}`,
        '  default_backend untrusted',
        'backend untrusted',
        `  server gw1 127.0.0.1:${gw1.port} send-proxy-v2 source 127.0.0.3`,
      ].join('\n'),
    );
    await haproxy.waitForServers(['gateways/gw1', 'gateways/gw2'], 'UP');
  });

  after(async () => {
    await haproxy?.stop();
    for (const gw of gateways) await gw.process.stop('SIGINT');
    await cluster?.stop();
    await pki?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('health checks (v2 LOCAL) keep both gateways UP without a refusal or an upstream session', async () => {
    const states = await haproxy.servers();
    for (const name of ['gw1', 'gw2']) {
      const state = states.find((s) => s.backend === 'gateways' && s.server === name);
      assert.equal(state?.status, 'UP', `${name}: ${JSON.stringify(state)}`);
    }
    for (const gw of gateways) {
      assert.equal(await refusedMetric(gw), 0);
      assert.ok(
        !gw.process.logs().some((r) => String(r.msg).includes('connection authorized')),
        'no session was opened by a health check',
      );
    }
  });

  it('psql through HAProxy passes an hba rule that admits only the client network, on both gateways', async () => {
    for (let i = 0; i < 4; i++) {
      assert.equal(await psqlOk({ conninfo: conninfo(trustedPort), sql: 'SELECT 42' }), '42');
    }
    for (const gw of gateways) {
      const authorized = gw.process
        .logs()
        .filter((r) => String(r.msg).includes('connection authorized'));
      assert.ok(authorized.length >= 1, 'round robin reached this gateway');
      for (const record of authorized) assert.equal(record.client, '127.0.0.1');
    }
  });

  it('a direct client without a header is refused where one is required (proxy_protocol = on)', async () => {
    const [gw1] = gateways as [Gw];
    const before = await refusedMetric(gw1);
    const result = await runPsql({ conninfo: conninfo(gw1.port) });
    assert.notEqual(result.code, 0);
    await gw1.process.waitForLog('PROXY protocol header required');
    assert.equal(await refusedMetric(gw1), before + 1);
  });

  it('a header from an untrusted source (HAProxy connecting from 127.0.0.3) is refused and logged', async () => {
    const [gw1] = gateways as [Gw];
    const before = await refusedMetric(gw1);
    const result = await runPsql({ conninfo: conninfo(untrustedPort) });
    assert.notEqual(result.code, 0, result.stdout);
    const record = await gw1.process.waitForLog('not in proxy_protocol_trusted');
    assert.equal(record.client, '127.0.0.3');
    assert.equal(await refusedMetric(gw1), before + 1);
    // Straight from a raw client at 127.0.0.3 too, with the reply PostgreSQL clients can read.
    const socket = new Socket();
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect({ port: gw1.port, host: '127.0.0.1', localAddress: '127.0.0.3' }, resolve);
    });
    const reply = collect(socket);
    socket.write(
      encodeProxyV2({
        command: 'proxy',
        source: { address: '127.0.0.1', port: 40000 },
        destination: { address: '127.0.0.1', port: gw1.port },
      }),
    );
    socket.write(encodeSslRequest());
    const fields = errorFields((await reply).bytes);
    assert.equal(fields?.get('C'), '28000');
    assert.equal(fields?.get('M'), 'PROXY protocol header not accepted from host "127.0.0.3"');
  });

  it('/status of the gateway shows the address from the header, not HAProxy’s', async () => {
    const client = new pg.Client({
      host: '127.0.0.1',
      port: trustedPort,
      user: 'postgres',
      database: 'postgres',
      application_name: 'held-open',
      ssl: { ca: readFileSync(pki.caBundle), servername: 'localhost' },
    });
    client.on('error', () => {});
    await client.connect();
    try {
      const sessions = [];
      for (const gw of gateways) {
        const status = (await (await admin(gw, '/status')).json()) as {
          sessions: Array<{ client_addr: string; application_name: string | null }>;
        };
        sessions.push(...status.sessions.filter((s) => s.application_name === 'held-open'));
      }
      assert.equal(sessions.length, 1);
      assert.equal(sessions[0]?.client_addr, '127.0.0.1');
    } finally {
      await client.end();
    }
  });

  it('the header’s address is what the hba rules see: a forged 192.0.2.7 is refused by name', async () => {
    const [gw1] = gateways as [Gw];
    const header = encodeProxyV2({
      command: 'proxy',
      source: { address: '192.0.2.7', port: 50123 },
      destination: { address: '127.0.0.1', port: gw1.port },
    });
    const client = new pg.Client({
      host: 'localhost',
      port: gw1.port,
      user: 'postgres',
      database: 'postgres',
      stream: proxiedStream('127.0.0.2', header),
      ssl: { ca: readFileSync(pki.caBundle), servername: 'localhost' },
    });
    client.on('error', () => {});
    await assert.rejects(client.connect(), (error: Error & { code?: string }) => {
      assert.equal(error.code, '28000');
      assert.match(error.message, /no pg_hba\.conf entry for host "192\.0\.2\.7"/);
      return true;
    });
  });

  it('a v1 header from the trusted address works as v2 does, and /status shows its port', async () => {
    const [gw1] = gateways as [Gw];
    const header = Buffer.from(`PROXY TCP4 127.0.0.1 127.0.0.1 40404 ${gw1.port}\r\n`);
    const client = new pg.Client({
      host: 'localhost',
      port: gw1.port,
      user: 'postgres',
      database: 'postgres',
      application_name: 'v1-client',
      stream: proxiedStream('127.0.0.2', header),
      ssl: { ca: readFileSync(pki.caBundle), servername: 'localhost' },
    });
    client.on('error', () => {});
    await client.connect();
    try {
      const status = (await (await admin(gw1, '/status')).json()) as {
        sessions: Array<{ client_addr: string; client_port: number; application_name: string }>;
      };
      const session = status.sessions.find((s) => s.application_name === 'v1-client');
      assert.equal(session?.client_addr, '127.0.0.1');
      assert.equal(session?.client_port, 40404);
    } finally {
      await client.end();
    }
  });

  it('a LOCAL header is answered by the gateway itself: SSLRequest gets S', async () => {
    const [gw1] = gateways as [Gw];
    const socket = new Socket();
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect({ port: gw1.port, host: '127.0.0.1', localAddress: '127.0.0.2' }, resolve);
    });
    const first = new Promise<Buffer>((resolve) => socket.once('data', resolve));
    socket.write(Buffer.concat([encodeProxyV2({ command: 'local' }), encodeSslRequest()]));
    assert.equal((await first).toString('latin1', 0, 1), 'S');
    socket.destroy();
  });
});
