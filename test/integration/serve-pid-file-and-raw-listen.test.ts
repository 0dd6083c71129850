// `pgtunnel serve` (the gateway and --raw) and its PID file: written once listening, refused
// when another live process holds it (before anything is bound), removed at exit. Also
// `serve --raw -h '*'`, which must accept IPv4 and IPv6 clients as PostgreSQL's '*' does.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { psqlOk } from '../helpers/clients.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import { type PgtunnelProcess, startPgtunnel } from '../helpers/pgtunnel-process.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';

/** An SSLRequest over a raw TLS connection: PostgreSQL (ssl off) answers 'N' through the relay. */
function sslRequestThroughRaw(host: string, port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = tlsConnect({ host, port, servername: 'localhost', ca: readFileSync(ca) });
    client.once('error', reject);
    client.once('secureConnect', () => {
      client.write(Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]));
    });
    client.once('data', (chunk: Buffer) => {
      client.destroy();
      resolve(chunk.toString());
    });
  });
}

/** Waits for a second instance to exit; one that starts serving instead is a failure. */
async function refusedToStart(instance: PgtunnelProcess): Promise<number | null> {
  const started = instance.waitForLog('ready to accept connections').then(
    () => true,
    () => false,
  );
  const outcome = await Promise.race([instance.exited.then(() => 'exited'), started]);
  if (outcome === true) {
    await instance.stop('SIGKILL');
    assert.fail(`the second instance started serving:\n${instance.output()}`);
  }
  return (await instance.exited).code;
}

describe('serve: PID file, and raw mode on every address', () => {
  let pki: TestPki;
  let cluster: Cluster;
  let dir: string;

  before(async () => {
    pki = await createTestPki();
    cluster = await startCluster();
    dir = mkdtempSync(join(tmpdir(), 'pgtunnel-serve-pid-'));
  });
  after(async () => {
    await cluster?.stop();
    await pki?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const tls = () => ['--ssl-cert-file', pki.serverCert, '--ssl-key-file', pki.serverKey];

  it('the gateway writes pid_file when ready, refuses a live one, removes it at exit', async () => {
    const pidFile = join(dir, 'gateway.pid');
    const args = (port: number) => [
      'serve',
      ...tls(),
      '--upstream',
      `host=${cluster.socketDir} port=${cluster.port} sslmode=disable`,
      '--listen-addresses',
      '127.0.0.1',
      '--port',
      String(port),
      '--workers',
      '1',
      '--pid-file',
      pidFile,
    ];
    const port = await freePort();
    const gateway = await startPgtunnel(args(port));
    try {
      assert.equal(readFileSync(pidFile, 'utf8').trim(), String(gateway.child.pid));
      const out = await psqlOk({
        conninfo: `host=localhost port=${port} user=postgres sslmode=verify-full sslrootcert=${pki.caBundle}`,
        sql: "SELECT 'gateway'",
      });
      assert.equal(out, 'gateway');
      const secondPort = await freePort();
      const second = await startPgtunnel(args(secondPort), { readyText: null });
      assert.notEqual(await refusedToStart(second), 0);
      assert.match(
        second.output(),
        /PID file ".*gateway\.pid" names process \d+, which is still running/,
      );
      assert.equal(readFileSync(pidFile, 'utf8').trim(), String(gateway.child.pid));
    } finally {
      const exit = await gateway.stop('SIGTERM');
      assert.equal(exit.code, 0);
    }
    assert.equal(existsSync(pidFile), false);
  });

  it("serve --raw with listen_addresses '*' accepts IPv4 and IPv6, with a PID file", async () => {
    const pidFile = join(dir, 'raw.pid');
    const port = await freePort();
    const raw = await startPgtunnel([
      'serve',
      '--raw',
      ...tls(),
      '--upstream',
      `127.0.0.1:${cluster.port}`,
      '--listen-addresses',
      '*',
      '--port',
      String(port),
      '--pid-file',
      pidFile,
      // Not for raw mode: said at start, not silently ignored.
      '-c',
      `hba_file=${join(dir, 'unused-hba.conf')}`,
    ]);
    try {
      assert.match(raw.output(), /hba_file is set but serve --raw does not use it/);
      assert.equal(readFileSync(pidFile, 'utf8').trim(), String(raw.child.pid));
      assert.equal(await sslRequestThroughRaw('127.0.0.1', port, pki.caBundle), 'N');
      assert.equal(await sslRequestThroughRaw('::1', port, pki.caBundle), 'N');
      const second = await startPgtunnel(
        [
          'serve',
          '--raw',
          ...tls(),
          '--upstream',
          `127.0.0.1:${cluster.port}`,
          '--port',
          String(await freePort()),
          '--pid-file',
          pidFile,
        ],
        { readyText: null },
      );
      assert.notEqual(await refusedToStart(second), 0);
      assert.match(
        second.output(),
        /PID file ".*raw\.pid" names process \d+, which is still running/,
      );
    } finally {
      const exit = await raw.stop('SIGTERM');
      assert.equal(exit.code, 0);
    }
    assert.equal(existsSync(pidFile), false);
  });

  it('serve --raw without a TCP address to listen on says so', async () => {
    // socket directories satisfy the gateway, but raw TLS is served on TCP only
    const raw = await startPgtunnel(
      [
        'serve',
        '--raw',
        ...tls(),
        '--upstream',
        `127.0.0.1:${cluster.port}`,
        '--listen-addresses',
        '',
        '--unix-socket-directories',
        dir,
      ],
      { readyText: null },
    );
    assert.equal(await refusedToStart(raw), 3);
    assert.match(raw.output(), /serve --raw has nowhere to listen: set listen_addresses/);
  });
});
