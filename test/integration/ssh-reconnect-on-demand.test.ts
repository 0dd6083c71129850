// A client arriving while the SSH connection is down starts a reconnect attempt itself, and
// keeps them coming while it waits: with a reconnect backoff of an hour, the only way back is
// that on-demand attempt. The client gets through after sshd returns, and the log shows the
// order: the client waiting, the attempt it started, the connection re-established by it.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { psqlOk } from '../helpers/clients.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import { createKeyPair, type Sshd, startSshd, startTunnelCli } from '../helpers/sshd.js';

describe('pgtunnel ssh: reconnecting when a client arrives', () => {
  let cluster: Cluster;
  let sshd: Sshd;
  let home: string;
  let keyFile: string;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'pgtunnel-ssh-on-demand-'));
    const key = await createKeyPair(home, 'id_test');
    keyFile = key.privateKeyFile;
    [cluster, sshd] = await Promise.all([
      startCluster(),
      startSshd({ authorizedKeys: [key.publicKey] }),
    ]);
    await writeFile(join(home, 'known_hosts'), `${sshd.knownHostsLines().join('\n')}\n`);
  });

  after(async () => {
    await Promise.all([sshd?.stop(), cluster?.stop()]);
    await rm(home, { recursive: true, force: true });
  });

  it('a client waiting during an outage brings the tunnel back as soon as sshd returns', async () => {
    const tunnel = await startTunnelCli(
      [
        '-L',
        `0:127.0.0.1:${cluster.port}`,
        '-i',
        keyFile,
        '--known-hosts',
        join(home, 'known_hosts'),
        // The client may wait as long as it takes; the backoff alone would wait an hour.
        '--connect-wait',
        '3600',
        '--reconnect-max-delay',
        '3600',
        '-p',
        String(sshd.port),
        `${sshd.user}@127.0.0.1`,
      ],
      { home },
    );
    try {
      const conninfo = `host=127.0.0.1 port=${tunnel.ports[0]} user=postgres sslmode=disable`;
      assert.equal(await psqlOk({ conninfo, sql: 'SELECT 1' }), '1');

      await sshd.kill();
      await tunnel.waitForLog(/SSH connection to \S+ lost; reconnecting/);
      // Let the backoff grow past the on-demand pace (a failed attempt announcing the next
      // in 3 s or more), so that from here every attempt is the waiting client's doing.
      await tunnel.waitForLog(/"retryInMs":([3-9]\d{3}|\d{5,})\b.*SSH reconnect failed/);
      const from = tunnel.stderr().length;
      const waiting = psqlOk({ conninfo, sql: 'SELECT 2' });
      await tunnel.waitForLog(/"trigger":"client".*SSH reconnect failed/, from);
      await sshd.start();
      assert.equal(await waiting, '2');

      const log = tunnel.stderr().slice(from);
      const back = log.split('\n').find((line) => line.includes('re-established'));
      assert.ok(back, log);
      assert.match(back, /"trigger":"client"/, "the attempt that got through was the client's");
      assert.ok(
        log.indexOf('a client is waiting: trying to reconnect') < log.indexOf('re-established'),
        log,
      );
    } finally {
      await tunnel.stop();
    }
  });
});
