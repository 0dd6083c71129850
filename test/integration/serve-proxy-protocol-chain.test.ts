// PROXY v2 out (upstream_proxy_protocol = v2): a gateway in front of another passes the client
// on. First the header's bytes as the next hop receives them (a listener that decodes them):
// the client's address and port, the TLS version and the client certificate's CN. Then a real
// chain, client → gateway A → gateway B (proxy_protocol = on) → PostgreSQL, where B's /status
// shows the client's own port, not A's, and a cancel request passes both hops.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { encodeCancelRequest } from '../../src/protocol/frontend.js';
import { decodeProxyHeader, type ProxyHeader } from '../../src/protocol/proxy-header.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import { type PgtunnelProcess, startPgtunnel } from '../helpers/pgtunnel-process.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { openTlsSession, sendUntilClosed } from '../helpers/raw-client.js';

describe('serve: PROXY v2 out to the upstream (a chain of gateways)', () => {
  let pki: TestPki;
  let cluster: Cluster;
  let dir: string;
  let alice: { cert: string; key: string };
  const processes: PgtunnelProcess[] = [];
  let capture: Server;
  const captured: ProxyHeader[] = [];
  let capturing: { port: number };
  let front: { port: number };
  let chainA: { port: number };
  let chainB: { port: number; adminPort: number };

  async function gateway(lines: string[]): Promise<number> {
    const port = await freePort();
    const file = join(dir, `gw${processes.length}.conf`);
    writeFileSync(
      file,
      [
        `listen_addresses = '127.0.0.1'`,
        `port = ${port}`,
        `ssl_cert_file = '${pki.serverCert}'`,
        `ssl_key_file = '${pki.serverKey}'`,
        `workers = 1`,
        ...lines,
        '',
      ].join('\n'),
    );
    processes.push(await startPgtunnel(['serve', '-f', file]));
    return port;
  }

  const client = (port: number, applicationName: string) => {
    const c = new pg.Client({
      host: 'localhost',
      port,
      user: 'postgres',
      database: 'postgres',
      application_name: applicationName,
      ssl: {
        ca: readFileSync(pki.caBundle),
        servername: 'localhost',
        cert: readFileSync(alice.cert),
        key: readFileSync(alice.key),
      },
    });
    c.on('error', () => {});
    return c;
  };

  before(async () => {
    pki = await createTestPki();
    alice = await pki.client('alice');
    cluster = await startCluster();
    dir = await mkdtemp(join(tmpdir(), 'pgtunnel-chain-'));
    // The next hop, reduced to its first step: decode the header, then hang up.
    capture = createServer((socket) => {
      let received = Buffer.alloc(0);
      socket.on('error', () => {});
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        const decoded = decodeProxyHeader(received);
        if (decoded.status === 'complete') {
          captured.push(decoded.header);
          socket.destroy();
        }
      });
    });
    await new Promise<void>((resolve) => capture.listen(0, '127.0.0.1', resolve));
    capturing = { port: (capture.address() as { port: number }).port };
    front = {
      port: await gateway([
        `ssl_ca_file = '${pki.caBundle}'`,
        `upstream = 'host=127.0.0.1 port=${capturing.port} sslmode=disable connect_timeout=5'`,
        `upstream_proxy_protocol = v2`,
      ]),
    };
    const bAdmin = await freePort();
    const bPort = await gateway([
      `upstream = 'host=${cluster.socketDir} port=${cluster.port} sslmode=disable'`,
      `proxy_protocol = on`,
      `proxy_protocol_trusted = '127.0.0.1'`,
      // The inner gateway passes on the client-leg report of the outer one (docs/serve.md).
      `client_leg_parameters = off`,
      `admin_listen = '127.0.0.1:${bAdmin}'`,
    ]);
    chainB = { port: bPort, adminPort: bAdmin };
    chainA = {
      port: await gateway([
        `ssl_ca_file = '${pki.caBundle}'`,
        `upstream = 'host=localhost port=${bPort} sslmode=verify-full sslrootcert=${pki.caBundle}'`,
        `upstream_proxy_protocol = v2`,
      ]),
    };
  });

  after(async () => {
    for (const process of processes) await process.stop('SIGINT');
    await new Promise<void>((resolve) => (capture ? capture.close(() => resolve()) : resolve()));
    await cluster?.stop();
    await pki?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('sends the client address, TLS version and certificate CN before anything else', async () => {
    const c = client(front.port, 'captured');
    const connecting = c.connect().catch((error: Error) => error);
    const error = await connecting;
    assert.ok(error instanceof Error, 'the capturing hop hangs up, so the session fails');
    assert.equal(captured.length, 1);
    const header = captured[0];
    assert.equal(header?.version, 2);
    assert.equal(header?.command, 'proxy');
    assert.equal(header?.source?.address, '127.0.0.1');
    assert.equal(header?.destination?.port, front.port);
    assert.equal(header?.ssl?.version, 'TLSv1.3');
    assert.equal(header?.ssl?.cn, 'alice');
    assert.equal(header?.ssl?.verify, 0, 'the certificate was verified against ssl_ca_file');
  });

  it('through a chain, the second gateway reports the client’s own port and cancels pass', async () => {
    const c = client(chainA.port, 'chained');
    await c.connect();
    try {
      const localPort = (
        c as unknown as {
          connection: { stream: { localPort?: number; socket?: { localPort: number } } };
        }
      ).connection.stream;
      const clientPort = localPort.localPort ?? localPort.socket?.localPort;
      const status = (await (
        await fetch(`http://127.0.0.1:${chainB.adminPort}/status`)
      ).json()) as {
        sessions: Array<{ application_name: string; client_addr: string; client_port: number }>;
      };
      const session = status.sessions.find((s) => s.application_name === 'chained');
      assert.equal(session?.client_addr, '127.0.0.1');
      assert.equal(session?.client_port, clientPort, 'the port is the client’s, not gateway A’s');

      // A cancel request also carries the header, so gateway B (proxy_protocol = on) takes it.
      const sleeping = c
        .query('SELECT pg_sleep(60)')
        .then(() => undefined)
        .catch((error: Error & { code?: string }) => error.code);
      const watcher = client(chainA.port, 'watcher');
      await watcher.connect();
      try {
        for (;;) {
          const { rows } = await watcher.query(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'",
          );
          if (rows[0].n === 1) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      } finally {
        await watcher.end();
      }
      const keys = c as unknown as { processID: number; secretKey: number };
      const secret = Buffer.alloc(4);
      secret.writeInt32BE(keys.secretKey);
      const tls = await openTlsSession(chainA.port, pki.caBundle);
      await sendUntilClosed(tls, encodeCancelRequest(keys.processID, secret));
      assert.equal(await sleeping, '57014', 'canceling statement due to user request');
    } finally {
      await c.end().catch(() => {});
    }
  });
});
