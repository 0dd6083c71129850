// TLS inside the SSH tunnel: PostgreSQL with ssl=on behind sshd, and libpq verifying the
// server's certificate for its real name (host=db.internal) while connecting to the tunnel's
// local port (hostaddr=127.0.0.1), so the session is encrypted and authenticated end to end;
// then the same through `pgtunnel connect` for a client that only speaks plaintext.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { psqlOk, runPsql } from '../helpers/clients.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import { startPgtunnel } from '../helpers/pgtunnel-process.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import {
  createKeyPair,
  type Sshd,
  startSshd,
  startTunnelCli,
  type TunnelCli,
} from '../helpers/sshd.js';

describe('pgtunnel ssh: TLS to PostgreSQL through the tunnel', () => {
  let pki: TestPki;
  let cluster: Cluster;
  let sshd: Sshd;
  let home: string;
  let tunnel: TunnelCli;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'pgtunnel-ssh-tls-'));
    const key = await createKeyPair(home, 'id_test');
    pki = await createTestPki();
    const server = await pki.otherServer({ cn: 'db.internal', sans: ['DNS:db.internal'] });
    [cluster, sshd] = await Promise.all([
      startCluster({
        ssl: { certFile: server.cert, keyFile: server.key },
        hba: 'local all all trust\nhostssl all all 127.0.0.1/32 trust\n',
      }),
      startSshd({ authorizedKeys: [key.publicKey] }),
    ]);
    await writeFile(join(home, 'known_hosts'), `${sshd.knownHostsLines().join('\n')}\n`);
    tunnel = await startTunnelCli(
      [
        '-L',
        `0:127.0.0.1:${cluster.port}`,
        '-i',
        key.privateKeyFile,
        '--known-hosts',
        join(home, 'known_hosts'),
        '--check',
        '-p',
        String(sshd.port),
        `${sshd.user}@127.0.0.1`,
      ],
      { home },
    );
  });

  after(async () => {
    await tunnel?.stop();
    await Promise.all([sshd?.stop(), cluster?.stop()]);
    await pki?.cleanup();
    await rm(home, { recursive: true, force: true });
  });

  it('--check sees the TLS-enabled PostgreSQL and its certificate', () => {
    assert.match(
      tunnel.stdout(),
      new RegExp(
        `PostgreSQL answered at 127\\.0\\.0\\.1:${cluster.port} \\(SSL supported, TLSv1\\.3, certificate CN=db\\.internal\\)`,
      ),
    );
  });

  it('lets psql verify-full the server by name through the tunnel', async () => {
    const port = tunnel.ports[0];
    const conninfo = (host: string) =>
      `host=${host} hostaddr=127.0.0.1 port=${port} user=postgres sslmode=verify-full sslrootcert=${pki.caBundle}`;
    const row = await psqlOk({
      conninfo: conninfo('db.internal'),
      sql: 'SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
    });
    assert.equal(row, 't|TLSv1.3');
    // The certificate really is checked: another name is refused by libpq.
    const wrong = await runPsql({ conninfo: conninfo('other.internal'), sql: 'SELECT 1' });
    assert.notEqual(wrong.code, 0);
    assert.match(
      wrong.stderr,
      /server certificate for "db\.internal" does not match host name "other\.internal"/,
    );
  });

  it('carries `pgtunnel connect` TLS (verify-full) over the SSH leg to the server itself', async () => {
    const sshPort = tunnel.ports[0];
    const startConnect = async (host: string) => {
      const port = await freePort();
      const connect = await startPgtunnel([
        'connect',
        '--listen',
        `127.0.0.1:${port}`,
        `host=${host} hostaddr=127.0.0.1 port=${sshPort} sslmode=verify-full sslrootcert=${pki.caBundle}`,
      ]);
      return { connect, port };
    };
    const good = await startConnect('db.internal');
    try {
      // psql speaks plaintext to connect; connect speaks verified TLS, carried by SSH, to PostgreSQL.
      const row = await psqlOk({
        conninfo: `host=127.0.0.1 port=${good.port} user=postgres sslmode=disable`,
        sql: 'SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
      });
      assert.equal(row, 't|TLSv1.3');
    } finally {
      await good.connect.stop();
    }
    const bad = await startConnect('other.internal');
    try {
      const refused = await runPsql({
        conninfo: `host=127.0.0.1 port=${bad.port} user=postgres sslmode=disable`,
        sql: 'SELECT 1',
      });
      assert.notEqual(refused.code, 0);
      assert.match(
        refused.stderr,
        /FATAL: .*server certificate for "db\.internal" does not match host name "other\.internal"/,
      );
    } finally {
      await bad.connect.stop();
    }
  });
});
