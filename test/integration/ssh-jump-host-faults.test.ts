// Faults in a -J chain: the database host's SSH session dies while the bastion's stays up (its
// sshd session process killed). The tunnel must notice, say which hop ended, reconnect, and
// serve new psql sessions.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { psqlOk } from '../helpers/clients.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import { createKeyPair, type Sshd, startSshd, startTunnelCli } from '../helpers/sshd.js';

describe('pgtunnel ssh: losing the inner hop of a -J chain', () => {
  let cluster: Cluster;
  let bastion: Sshd;
  let database: Sshd;
  let home: string;
  let keyFile: string;
  let knownHosts: string;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'pgtunnel-ssh-jump-faults-'));
    const key = await createKeyPair(home, 'id_test');
    keyFile = key.privateKeyFile;
    [cluster, bastion, database] = await Promise.all([
      startCluster(),
      startSshd({ authorizedKeys: [key.publicKey] }),
      startSshd({ authorizedKeys: [key.publicKey] }),
    ]);
    knownHosts = join(home, 'known_hosts');
    await writeFile(
      knownHosts,
      `${[bastion, database].flatMap((s) => s.knownHostsLines()).join('\n')}\n`,
    );
  });

  after(async () => {
    await Promise.all([bastion?.stop(), database?.stop(), cluster?.stop()]);
    await rm(home, { recursive: true, force: true });
  });

  it('reconnects when the database hop ends while the bastion stays up, naming the hop', async () => {
    const tunnel = await startTunnelCli(
      [
        '-J',
        `${bastion.user}@127.0.0.1:${bastion.port}`,
        '-L',
        `0:127.0.0.1:${cluster.port}`,
        '-i',
        keyFile,
        '--known-hosts',
        knownHosts,
        '-p',
        String(database.port),
        `${database.user}@127.0.0.1`,
      ],
      { home },
    );
    try {
      const conninfo = `host=127.0.0.1 port=${tunnel.ports[0]} user=postgres sslmode=disable`;
      assert.equal(await psqlOk({ conninfo, sql: 'SELECT 1' }), '1');

      const from = tunnel.stderr().length;
      // Only the database host's session: the bastion's sshd and its session stay as they are.
      assert.ok(database.killSessions() > 0, 'a session process of the database sshd was killed');
      const hop = `${database.user}@127\\.0\\.0\\.1:${database.port}`;
      await tunnel.waitForLog(
        new RegExp(
          `SSH connection to \\S+ lost; reconnecting: the SSH connection to ${hop} \\(through \\S+:${bastion.port}\\) ended`,
        ),
        from,
      );
      await tunnel.waitForLog(/SSH connection to \S+ re-established/, from);
      assert.equal(await psqlOk({ conninfo, sql: 'SELECT 2' }), '2');
      assert.equal(tunnel.process.exitCode, null, 'the tunnel process stayed up');
    } finally {
      await tunnel.stop();
    }
  });
});
