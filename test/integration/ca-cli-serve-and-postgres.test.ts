// The same `pgtunnel ca` files serve both a native PostgreSQL (ssl=on) and `pgtunnel serve` in
// front of it: psql logs in with sslmode=verify-full and a client certificate through each, and
// one `pgtunnel ca revoke` shuts the certificate out of both after they reload.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { caOk } from '../helpers/ca-cli.js';
import { runPsql } from '../helpers/clients.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import { type PgtunnelProcess, startPgtunnel } from '../helpers/pgtunnel-process.js';
import { freePort } from '../helpers/ports.js';

describe('pgtunnel ca files with both PostgreSQL and pgtunnel serve', () => {
  let work: string;
  let caDir: string;
  let cluster: Cluster | undefined;
  let gateway: PgtunnelProcess | undefined;
  let gatewayPort: number;
  const file = (name: string) => join(work, name);

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'pgtunnel-ca-serve-'));
    caDir = join(work, 'ca');
    await caOk(['init', '--ca-dir', caDir]);
    await caOk(['intermediate', '--ca-dir', caDir]);
    await caOk([
      'issue',
      'server',
      '--ca-dir',
      caDir,
      '--cn',
      'localhost',
      '--san',
      'IP:127.0.0.1',
      '--cert-file',
      file('server.crt'),
      '--key-file',
      file('server.key'),
    ]);
    await caOk(['issue', 'client', '--ca-dir', caDir, '--cn', 'alice', '--libpq', file('pq')]);

    // One PostgreSQL: TCP needs TLS plus a client certificate; its unix socket (the gateway's
    // upstream) trusts, so through the gateway only the gateway's own `cert` check applies.
    const hba = 'local all all trust\nhostssl all all 127.0.0.1/32 cert\n';
    cluster = await startCluster({
      ssl: {
        certFile: file('server.crt'),
        keyFile: file('server.key'),
        caFile: join(caDir, 'ca-bundle.crt'),
        crlFile: join(caDir, 'crl-bundle.pem'),
      },
      hba,
    });
    await cluster.sql('CREATE ROLE alice LOGIN');
    await writeFile(file('gateway-hba.conf'), 'hostssl all all 127.0.0.1/32 cert\n');
    gatewayPort = await freePort();
    gateway = await startPgtunnel([
      'serve',
      '--listen-addresses',
      '127.0.0.1',
      '--port',
      String(gatewayPort),
      '--workers',
      '1',
      '--ssl-cert-file',
      file('server.crt'),
      '--ssl-key-file',
      file('server.key'),
      '--ssl-ca-file',
      join(caDir, 'ca-bundle.crt'),
      '--ssl-crl-file',
      join(caDir, 'crl-bundle.pem'),
      '--hba-file',
      file('gateway-hba.conf'),
      '--upstream',
      `host=${cluster.socketDir} port=${cluster.port} sslmode=disable`,
    ]);
  });

  after(async () => {
    await gateway?.stop('SIGINT');
    await cluster?.stop();
    await rm(work, { recursive: true, force: true });
  });

  /** psql as alice with the files `ca issue client --libpq` wrote, to the given port. */
  function psqlAlice(port: number) {
    const pq = file('pq');
    return runPsql({
      conninfo: [
        'host=localhost',
        'hostaddr=127.0.0.1',
        `port=${port}`,
        'dbname=postgres',
        'user=alice',
        'sslmode=verify-full',
        `sslrootcert=${join(pq, 'root.crt')}`,
        `sslcert=${join(pq, 'postgresql.crt')}`,
        `sslkey=${join(pq, 'postgresql.key')}`,
      ].join(' '),
      sql: 'SELECT current_user',
    });
  }

  it('lets psql in through pgtunnel serve and directly, with the same files', async () => {
    const direct = await psqlAlice(cluster!.port);
    assert.equal(direct.code, 0, direct.stderr);
    assert.equal(direct.stdout.trim(), 'alice');
    const viaGateway = await psqlAlice(gatewayPort);
    assert.equal(viaGateway.code, 0, `${viaGateway.stderr}\n${gateway!.output()}`);
    assert.equal(viaGateway.stdout.trim(), 'alice');
  });

  it('makes both refuse the certificate after `pgtunnel ca revoke` and a reload', async () => {
    await caOk(['revoke', '--ca-dir', caDir, join(file('pq'), 'postgresql.crt')]);
    await cluster!.setSsl({
      certFile: file('server.crt'),
      keyFile: file('server.key'),
      caFile: join(caDir, 'ca-bundle.crt'),
      crlFile: join(caDir, 'crl-bundle.pem'),
    });
    const reloaded = gateway!.waitForLog('configuration reloaded');
    gateway!.child.kill('SIGHUP');
    await reloaded;

    const direct = await psqlAlice(cluster!.port);
    assert.notEqual(direct.code, 0, 'PostgreSQL must refuse a revoked certificate');
    assert.match(direct.stderr, /certificate revoked/);
    const viaGateway = await psqlAlice(gatewayPort);
    assert.notEqual(viaGateway.code, 0, 'the gateway must refuse a revoked certificate');
    assert.match(viaGateway.stderr, /FATAL: +connection requires a valid client certificate/);
  });
});
