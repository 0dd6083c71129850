// `pgtunnel reload` finds a running `serve` without pid_file, as pg_ctl finds its server: serve
// writes $XDG_RUNTIME_DIR/pgtunnel-PORT.pid, reload reads it for -p PORT (6432 by default) or
// for the port of -f FILE, and the file goes away when serve stops.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import { cliArgs, type PgtunnelProcess, startPgtunnel } from '../helpers/pgtunnel-process.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { run } from '../helpers/run.js';

describe('reload without pid_file', () => {
  const runtime = mkdtempSync(join(tmpdir(), 'pgtunnel-runtime-'));
  const env = { ...process.env, XDG_RUNTIME_DIR: runtime };
  let cluster: Cluster;
  let pki: TestPki;
  let gateway: PgtunnelProcess;
  let port: number;
  let conf: string;

  before(async () => {
    [cluster, pki, port] = await Promise.all([startCluster(), createTestPki(), freePort()]);
    conf = join(runtime, 'pgtunnel.conf');
    writeFileSync(
      conf,
      [
        `port = ${port}`,
        "listen_addresses = '127.0.0.1'",
        `upstream = 'host=${cluster.socketDir} port=${cluster.port}'`,
        `ssl_cert_file = '${pki.serverCert}'`,
        `ssl_key_file = '${pki.serverKey}'`,
        '',
      ].join('\n'),
    );
    gateway = await startPgtunnel(['serve', '-f', conf], { env });
  });
  after(async () => {
    await gateway?.stop('SIGINT');
    await cluster?.stop();
    await pki?.cleanup();
    rmSync(runtime, { recursive: true, force: true });
  });

  const reload = (args: string[]) => run(process.execPath, cliArgs(['reload', ...args]), { env });
  const reloadsLogged = () =>
    gateway.logs().filter((r) => r.msg === 'received reload request').length;

  it('serve writes its PID to the runtime directory, keyed by port', () => {
    const file = join(runtime, `pgtunnel-${port}.pid`);
    assert.equal(readFileSync(file, 'utf8').trim(), String(gateway.child.pid));
  });

  it('reload -p PORT and reload -f FILE reach it', async () => {
    for (const args of [
      ['-p', String(port)],
      ['-f', conf],
    ]) {
      const before = reloadsLogged();
      const result = await reload(args);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`server signaled \\(pid ${gateway.child.pid}`));
      while (reloadsLogged() === before) await delay(50);
      assert.ok(reloadsLogged() > before);
    }
  });

  it('a bare reload looks for the server on 6432 and says where it looked', async () => {
    const result = await reload([]);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      new RegExp(
        `could not read PID file "${join(runtime, 'pgtunnel-6432.pid')}": is the server running\\?`,
      ),
    );
  });

  it('the file is removed when serve stops', async () => {
    await gateway.stop('SIGTERM');
    assert.equal(existsSync(join(runtime, `pgtunnel-${port}.pid`)), false);
  });
});
