// inetd mode and systemd socket activation of `pgtunnel connect`, with real sockets: an
// inetd-like accept loop that hands each accepted socket to a new `pgtunnel connect --inetd`
// as its stdin/stdout, and a listening socket passed as fd 3 with LISTEN_FDS/LISTEN_PID set as
// systemd does (and ignored without LISTEN_PID); plus the PID file's life cycle. The raw
// server's inetd mode also runs in-process here (through the CLI in serve-inetd-…).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/log.js';
import { parseRawTarget, serveRawInetd } from '../../src/raw/raw-server.js';
import { spawn } from '../helpers/children.js';
import { psqlOk, runPsql } from '../helpers/clients.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import { cliArgs, PROJECT_ROOT, startPgtunnel } from '../helpers/pgtunnel-process.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { startStunnel } from '../helpers/stunnel.js';

function listening(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

/** Waits for `text` on stderr, or for the child's exit (then rejects); no deadline. */
function waitForOutput(child: ChildProcess, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(text)) resolve(output);
    };
    child.stderr?.on('data', onData);
    child.once('close', () => reject(new Error(`exited before "${text}":\n${output}`)));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

describe('inetd mode and socket activation', () => {
  let pki: TestPki;
  let cluster: Cluster;
  let conninfo: string;
  let dir: string;
  const children: ChildProcess[] = [];
  const servers: Server[] = [];

  before(async () => {
    pki = await createTestPki();
    cluster = await startCluster({ ssl: { certFile: pki.serverCert, keyFile: pki.serverKey } });
    conninfo = `host=localhost port=${cluster.port} sslmode=verify-full sslrootcert=${pki.caBundle}`;
    dir = mkdtempSync(join(tmpdir(), 'pgtunnel-inetd-'));
  });
  after(async () => {
    await Promise.all(children.map(stopChild));
    for (const server of servers) server.close();
    await cluster?.stop();
    await pki?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** An inetd: accept, then run one pgtunnel per connection with the socket as fds 0 and 1. */
  const inetd = async (args: string[]) => {
    const exits: Array<Promise<unknown>> = [];
    const server = createServer({ pauseOnConnect: true }, (socket: Socket) => {
      const child = spawn(process.execPath, cliArgs(args), {
        cwd: PROJECT_ROOT,
        stdio: [socket, socket, 'pipe'],
      });
      children.push(child);
      child.stderr?.resume();
      exits.push(once(child, 'exit'));
      socket.destroy(); // the child has its own copy of the descriptor
    });
    servers.push(server);
    return { port: await listening(server), exits };
  };

  it('connect --inetd serves the connection on its stdin/stdout socket', async () => {
    const { port, exits } = await inetd(['connect', '--inetd', conninfo]);
    for (let i = 0; i < 2; i++) {
      const out = await psqlOk({
        conninfo: `host=127.0.0.1 port=${port} user=postgres dbname=postgres sslmode=disable`,
        sql: 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
      });
      assert.equal(out, 't');
    }
    // each pgtunnel exits by itself once its one session is over
    const codes = await Promise.all(exits);
    assert.deepEqual(
      codes.map((c) => (c as [number])[0]),
      [0, 0],
    );
  });

  it('connect --inetd hands psql the FATAL for a wrong CA before it exits', async () => {
    const { port, exits } = await inetd([
      'connect',
      '--inetd',
      `host=localhost port=${cluster.port} sslmode=verify-full sslrootcert=${pki.untrustedRootCert}`,
    ]);
    const result = await runPsql({
      conninfo: `host=127.0.0.1 port=${port} user=postgres sslmode=disable`,
    });
    assert.notEqual(result.code, 0);
    assert.match(
      result.stderr,
      /FATAL: {2}connection to server at "localhost" \(127\.0\.0\.1\), port \d+ failed: SSL error: certificate verify failed: unable to get local issuer certificate/,
    );
    const codes = await Promise.all(exits);
    assert.deepEqual(
      codes.map((c) => (c as [number])[0]),
      [0],
    );
  });

  it('connect --raw --inetd relays to stunnel4 in server mode', async () => {
    const stunnelPort = await freePort();
    const stunnel = await startStunnel({
      client: false,
      acceptPort: stunnelPort,
      connect: `127.0.0.1:${cluster.port}`,
      options: { cert: pki.serverCert, key: pki.serverKey },
    });
    try {
      const { port } = await inetd([
        'connect',
        '--raw',
        '--inetd',
        `host=localhost port=${stunnelPort} sslrootcert=${pki.caBundle}`,
      ]);
      const out = await psqlOk({
        conninfo: `host=127.0.0.1 port=${port} user=postgres dbname=postgres sslmode=disable`,
        sql: "SELECT 'raw inetd'",
      });
      assert.equal(out, 'raw inetd');
    } finally {
      await stunnel.stop();
    }
  });

  it('uses a listening socket inherited as fd 3 (LISTEN_FDS, LISTEN_PID)', async () => {
    const listener = createServer();
    servers.push(listener);
    const port = await listening(listener);
    const fd = (listener as unknown as { _handle: { fd: number } })._handle.fd;
    // LISTEN_PID must be the pgtunnel process itself: the shell sets it to its own PID, then
    // exec keeps that PID, as systemd sets it after fork.
    const child = spawn(
      'sh',
      ['-c', 'LISTEN_PID=$$ exec "$@"', 'sh', process.execPath, ...cliArgs(['connect', conninfo])],
      {
        cwd: PROJECT_ROOT,
        env: { ...process.env, LISTEN_FDS: '1', LISTEN_FDNAMES: 'tunnel' },
        stdio: ['ignore', 'ignore', 'pipe', fd],
      },
    );
    children.push(child);
    const output = await waitForOutput(child, 'ready to accept connections');
    assert.match(output, /\(fd 3\)/);
    // from now on only the child may accept on it
    listener.close();
    const out = await psqlOk({
      conninfo: `host=127.0.0.1 port=${port} user=postgres dbname=postgres sslmode=disable`,
      sql: 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
    });
    assert.equal(out, 't');
    await stopChild(child);
  });

  it('ignores LISTEN_FDS without LISTEN_PID: the sockets were meant for another process', async () => {
    const listener = createServer();
    servers.push(listener);
    await listening(listener);
    const fd = (listener as unknown as { _handle: { fd: number } })._handle.fd;
    const child = spawn(process.execPath, cliArgs(['connect', conninfo]), {
      cwd: PROJECT_ROOT,
      env: { ...process.env, LISTEN_FDS: '1' },
      stdio: ['ignore', 'ignore', 'pipe', fd],
    });
    children.push(child);
    let output = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      // one that took fd 3 would run on: stop it once it says so, and the test fails
      if (output.includes('ready to accept connections')) child.kill('SIGKILL');
    });
    const [code] = (await once(child, 'close')) as [number | null];
    assert.equal(code, 2, output);
    assert.match(output, /nowhere to listen: give --listen/);
  });

  it('writes the PID file when ready and removes it on SIGTERM', async () => {
    const pidFile = join(dir, 'connect.pid');
    const port = await freePort();
    const tunnel = await startPgtunnel([
      'connect',
      '--listen',
      `127.0.0.1:${port}`,
      '--pid-file',
      pidFile,
      conninfo,
    ]);
    assert.equal(readFileSync(pidFile, 'utf8').trim(), String(tunnel.child.pid));
    // a second instance refuses to take over a live PID file, and says so before it would
    // fail to bind the same address
    const second = await startPgtunnel(
      ['connect', '--listen', `127.0.0.1:${port}`, '--pid-file', pidFile, conninfo],
      { readyText: null },
    );
    const secondExit = await second.exited;
    assert.equal(secondExit.code, 1);
    assert.match(second.output(), /PID file ".*" names process \d+, which is still running/);
    const exit = await tunnel.stop('SIGTERM');
    assert.equal(exit.code, 0);
    assert.equal(existsSync(pidFile), false);
  });

  it('the raw server serves one TLS connection given as a stream (serve --raw inetd mode)', async () => {
    const { connect: tlsConnect } = await import('node:tls');
    const done: Array<Promise<void>> = [];
    const inetd = createServer({ pauseOnConnect: true }, (socket: Socket) => {
      done.push(
        serveRawInetd(
          {
            listen: [],
            target: parseRawTarget(`127.0.0.1:${cluster.port}`),
            certFile: pki.serverCert,
            keyFile: pki.serverKey,
            logger: silentLogger,
          },
          socket,
        ),
      );
    });
    servers.push(inetd);
    const port = await listening(inetd);
    const client = tlsConnect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: readFileSync(pki.caBundle),
    });
    await once(client, 'secureConnect');
    // An SSLRequest through the raw relay reaches PostgreSQL itself, which says 'S' (ssl on).
    client.write(Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]));
    const [answer] = (await once(client, 'data')) as [Buffer];
    assert.equal(answer.toString(), 'S');
    client.destroy();
    await Promise.all(done);
  });
});
