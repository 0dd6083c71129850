// watch_files follows the routes file and every file a route names: editing the routes file
// adds a route, and replacing a route's certificate in place serves the new one, without a
// SIGHUP.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { psqlOk } from '../helpers/clients.js';
import { presentedSerialFor } from '../helpers/peer-certificate.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import { type PgtunnelProcess, startPgtunnel } from '../helpers/pgtunnel-process.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { fetchStatus, waitForStatus } from '../helpers/worker-status.js';

describe('serve: watch_files follows routes', () => {
  let pki: TestPki;
  let cluster: Cluster;
  let dir: string;
  let port: number;
  let adminPort: number;
  let gateway: PgtunnelProcess;
  let routesFile: string;
  const route = (name: string) =>
    `[${name}]\nserver_name = 'db-${name}.test'\nssl_cert_file = '${name}.crt'\nssl_key_file = '${name}.key'\n`;

  before(async () => {
    pki = await createTestPki();
    cluster = await startCluster();
    dir = mkdtempSync(join(tmpdir(), 'pgtunnel-routes-watch-'));
    for (const name of ['a', 'b']) {
      const issued = await pki.otherServer({
        cn: `db-${name}.test`,
        sans: [`DNS:db-${name}.test`],
      });
      copyFileSync(issued.cert, join(dir, `${name}.crt`));
      copyFileSync(issued.key, join(dir, `${name}.key`));
    }
    port = await freePort();
    adminPort = await freePort();
    routesFile = join(dir, 'routes.conf');
    writeFileSync(routesFile, route('a'));
    const configFile = join(dir, 'pgtunnel.conf');
    writeFileSync(
      configFile,
      [
        "listen_addresses = '127.0.0.1'",
        `port = ${port}`,
        'workers = 1',
        `admin_listen = '127.0.0.1:${adminPort}'`,
        `ssl_cert_file = '${pki.serverCert}'`,
        `ssl_key_file = '${pki.serverKey}'`,
        `upstream = 'host=${cluster.socketDir} port=${cluster.port} sslmode=disable'`,
        "routes_file = 'routes.conf'",
        'watch_files = on',
      ].join('\n'),
    );
    gateway = await startPgtunnel(['serve', '--config', configFile]);
    await waitForStatus(adminPort, (s) => s.state === 'listening');
  });
  after(async () => {
    await gateway?.stop('SIGINT');
    await cluster?.stop();
    await pki?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const conninfo = (host: string) =>
    `host=${host} hostaddr=127.0.0.1 port=${port} user=postgres dbname=postgres sslmode=verify-full sslrootcert=${pki.caBundle}`;

  it('reloads when the routes file changes', async () => {
    assert.equal(await psqlOk({ conninfo: conninfo('db-a.test'), sql: 'SELECT 1' }), '1');
    const before = await fetchStatus(adminPort);
    writeFileSync(routesFile, `${route('a')}\n${route('b')}`);
    await waitForStatus(adminPort, (s) => s.generation > before.generation);
    assert.equal(await psqlOk({ conninfo: conninfo('db-b.test'), sql: 'SELECT 1' }), '1');
  });

  it("reloads when a route's certificate is replaced", async () => {
    const before = await fetchStatus(adminPort);
    const old = await presentedSerialFor(port, pki.caBundle, 'db-b.test');
    const renewed = await pki.otherServer({ cn: 'db-b.test', sans: ['DNS:db-b.test'] });
    // The key first, then the certificate: the reload that sees both in step serves them.
    copyFileSync(renewed.key, join(dir, 'b.key'));
    copyFileSync(renewed.cert, join(dir, 'b.crt'));
    const reloaded = await waitForStatus(
      adminPort,
      (s) => s.generation > before.generation && s.last_reload?.ok === true,
    );
    let serial = await presentedSerialFor(port, pki.caBundle, 'db-b.test');
    // A reload may have read the key alone (refused, old pair kept); the next one serves both.
    while (serial === old) {
      await waitForStatus(adminPort, (s) => s.generation > reloaded.generation);
      serial = await presentedSerialFor(port, pki.caBundle, 'db-b.test');
    }
    assert.notEqual(serial, old);
    assert.equal(await psqlOk({ conninfo: conninfo('db-b.test'), sql: 'SELECT 1' }), '1');
  });
});
