// `pgtunnel serve` started the way inetd and systemd start daemons: one client connection on
// standard input/output (--inetd, also with --raw behind stunnel4), and listening sockets
// inherited from fd 3 (LISTEN_FDS with LISTEN_PID).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { spawn } from '../helpers/children.js';
import { psqlOk } from '../helpers/clients.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import { cliArgs, PROJECT_ROOT } from '../helpers/pgtunnel-process.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { startStunnel } from '../helpers/stunnel.js';

/** The file descriptor behind a net.Socket or net.Server (Linux). */
function fdOf(handle: Socket | Server): number {
  const fd = (handle as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('no file descriptor');
  return fd;
}

function listening(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : 0 });
    });
  });
}

/**
 * psql (without TLS) through a stunnel4 client that verifies the certificate of the raw TLS
 * server on `port`; resolves to the query's output.
 */
async function psqlThroughStunnel(port: number, caBundle: string, sql: string): Promise<string> {
  const stunnelPort = await freePort();
  const stunnel = await startStunnel({
    client: true,
    acceptPort: stunnelPort,
    connect: `127.0.0.1:${port}`,
    options: { CAfile: caBundle, verifyChain: 'yes', checkHost: 'localhost' },
  });
  try {
    const conninfo = `host=127.0.0.1 port=${stunnelPort} user=postgres dbname=postgres sslmode=disable`;
    return await psqlOk({ conninfo, sql });
  } finally {
    await stunnel.stop();
  }
}

describe('serve: inetd mode and socket activation', () => {
  let pki: TestPki;
  let cluster: Cluster;
  const children: ChildProcess[] = [];
  const serveArgs = () => [
    'serve',
    '--ssl-cert-file',
    pki.serverCert,
    '--ssl-key-file',
    pki.serverKey,
    '--upstream',
    `host=${cluster.socketDir} port=${cluster.port} sslmode=disable`,
  ];
  before(async () => {
    pki = await createTestPki();
    cluster = await startCluster();
  });
  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await cluster?.stop();
    await pki?.cleanup();
  });

  it('--inetd serves the one connection it is handed on stdin/stdout, then exits', async () => {
    const { server, port } = await listening();
    const exits: Promise<unknown>[] = [];
    server.on('connection', (socket) => {
      // What inetd does: the accepted socket becomes the child's standard input and output.
      const fd = fdOf(socket);
      const child = spawn(process.execPath, cliArgs([...serveArgs(), '--inetd']), {
        cwd: PROJECT_ROOT,
        stdio: [fd, fd, 'pipe'],
      });
      children.push(child);
      exits.push(once(child, 'exit'));
      socket.destroy(); // the child holds its own copy
    });
    try {
      const conninfo = `host=localhost port=${port} user=postgres dbname=postgres sslmode=verify-full sslrootcert=${pki.caBundle}`;
      assert.equal(await psqlOk({ conninfo, sql: "SELECT 'inetd'" }), 'inetd');
      assert.equal(await psqlOk({ conninfo, sql: "SELECT 'again'" }), 'again');
      const results = (await Promise.all(exits)) as Array<[number | null]>;
      assert.deepEqual(
        results.map(([code]) => code),
        [0, 0],
      );
    } finally {
      server.close();
    }
  });

  it('--raw --inetd relays the TLS connection on stdin/stdout, with stunnel4 as the client', async () => {
    const { server, port } = await listening();
    const exits: Promise<unknown>[] = [];
    server.on('connection', (socket) => {
      const fd = fdOf(socket);
      const child = spawn(
        process.execPath,
        cliArgs([
          'serve',
          '--raw',
          '--inetd',
          '--ssl-cert-file',
          pki.serverCert,
          '--ssl-key-file',
          pki.serverKey,
          '--upstream',
          `127.0.0.1:${cluster.port}`,
        ]),
        { cwd: PROJECT_ROOT, stdio: [fd, fd, 'pipe'] },
      );
      children.push(child);
      child.stderr?.resume();
      exits.push(once(child, 'exit'));
      socket.destroy();
    });
    try {
      assert.equal(await psqlThroughStunnel(port, pki.caBundle, "SELECT 'raw inetd'"), 'raw inetd');
      // stunnel's readiness probe made a connection too: every child served one and exited
      const results = (await Promise.all(exits)) as Array<[number | null]>;
      assert.ok(results.length >= 1);
      assert.deepEqual(
        results.map(([code]) => code),
        results.map(() => 0),
      );
    } finally {
      server.close();
    }
  });

  it('--raw --inetd lets a client that leaves before its handshake go at once (no handshake timeout)', async () => {
    const { server, port } = await listening();
    const accepted = once(server, 'connection') as Promise<[Socket]>;
    const client = connect({ port, host: '127.0.0.1' });
    const [socket] = await accepted;
    const child = spawn(
      process.execPath,
      cliArgs([
        'serve',
        '--raw',
        '--inetd',
        '--log-min-messages',
        'info',
        '--ssl-cert-file',
        pki.serverCert,
        '--ssl-key-file',
        pki.serverKey,
        '--upstream',
        `127.0.0.1:${cluster.port}`,
      ]),
      { cwd: PROJECT_ROOT, stdio: [fdOf(socket), fdOf(socket), 'pipe'] },
    );
    children.push(child);
    let log = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
    });
    socket.destroy();
    server.close();
    client.end(); // a balancer's health check: connect, then leave
    const [code] = (await once(child, 'close')) as [number | null];
    assert.equal(code, 0);
    assert.match(log, /the client closed the connection before completing the TLS handshake/);
    assert.doesNotMatch(log, /timeout|timed out/i);
  });

  /** Starts pgtunnel with `server` as fd 3, as systemd does; resolves once it is ready. */
  const activated = async (args: string[], server: Server) => {
    // LISTEN_PID must be pgtunnel's own PID, as systemd sets it after fork: the shell puts
    // its PID there and exec keeps it.
    const child = spawn(
      'sh',
      ['-c', 'LISTEN_PID=$$ exec "$@"', 'sh', process.execPath, ...cliArgs(args)],
      {
        cwd: PROJECT_ROOT,
        stdio: ['ignore', 'pipe', 'pipe', fdOf(server)],
        env: { ...process.env, LISTEN_FDS: '1' },
      },
    );
    children.push(child);
    let output = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    while (!output.includes('ready to accept connections') && child.exitCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    server.close(); // the child has its own copy of the listening socket
    return { child, output };
  };

  it('serve --raw takes its listening socket from systemd too', async () => {
    const { server, port } = await listening();
    const { child, output } = await activated(
      [
        'serve',
        '--raw',
        '--ssl-cert-file',
        pki.serverCert,
        '--ssl-key-file',
        pki.serverKey,
        '--upstream',
        `127.0.0.1:${cluster.port}`,
        '--port',
        '1',
      ],
      server,
    );
    assert.match(output, /ready to accept connections/);
    // Named as serve and connect name an inherited socket: its address, then the descriptor.
    assert.match(output, new RegExp(`"addresses":\\["127\\.0\\.0\\.1:${port} \\(fd 3\\)"\\]`));
    assert.equal(
      await psqlThroughStunnel(port, pki.caBundle, "SELECT 'raw activated'"),
      'raw activated',
    );
    child.kill('SIGTERM');
    const [code] = (await once(child, 'close')) as [number | null];
    assert.equal(code, 0);
  });

  it('listens on sockets inherited from systemd (LISTEN_FDS) instead of its own addresses', async () => {
    const { server, port } = await listening();
    const { child, output } = await activated([...serveArgs(), '--port', '1'], server);
    assert.match(output, /ready to accept connections/);
    assert.match(output, new RegExp(`127\\.0\\.0\\.1:${port} \\(fd 3\\)`));
    const conninfo = `host=localhost port=${port} user=postgres dbname=postgres sslmode=verify-full sslrootcert=${pki.caBundle}`;
    assert.equal(await psqlOk({ conninfo, sql: "SELECT 'activated'" }), 'activated');
    child.kill('SIGTERM');
    const [code] = (await once(child, 'close')) as [number | null];
    assert.equal(code, 0);
  });
});
