// Jump hosts: -J through one and through two sshds, ProxyJump from ~/.ssh/config, a jump host
// checked with its own StrictHostKeyChecking rather than the destination's, and a jump host
// whose key is wrong being refused by name; a destination whose key changed is logged in to but
// not forwarded through under StrictHostKeyChecking no. Each hop's sshd logs what it served.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { psqlOk } from '../helpers/clients.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import {
  createKeyPair,
  runTunnelCli,
  type Sshd,
  startSshd,
  startTunnelCli,
} from '../helpers/sshd.js';

describe('pgtunnel ssh: jump hosts', () => {
  let cluster: Cluster;
  let jump1: Sshd;
  let jump2: Sshd;
  let target: Sshd;
  let home: string;
  let keyFile: string;
  let knownHosts: string;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'pgtunnel-ssh-jump-'));
    await mkdir(join(home, '.ssh'), { mode: 0o700 });
    const key = await createKeyPair(home, 'id_test');
    keyFile = key.privateKeyFile;
    // DEBUG1 makes sshd log each direct-tcpip request with its target port.
    const debug = { authorizedKeys: [key.publicKey], extraConfig: ['LogLevel DEBUG1'] };
    [cluster, jump1, jump2, target] = await Promise.all([
      startCluster(),
      startSshd(debug),
      startSshd(debug),
      startSshd({ ...debug, hostKeyTypes: ['ecdsa'] }),
    ]);
    knownHosts = join(home, 'known_hosts');
    await writeFile(
      knownHosts,
      `${[jump1, jump2, target].flatMap((s) => s.knownHostsLines()).join('\n')}\n`,
    );
  });

  after(async () => {
    await Promise.all([jump1?.stop(), jump2?.stop(), target?.stop(), cluster?.stop()]);
    await rm(home, { recursive: true, force: true });
  });

  const forwardedTo = (port: number) =>
    new RegExp(
      `server_request_direct_tcpip: originator \\S+ port \\d+, target 127\\.0\\.0\\.1 port ${port}\\b`,
    );

  it('reaches PostgreSQL through two jump hosts given with -J', async () => {
    const tunnel = await startTunnelCli(
      [
        '-J',
        `${jump1.user}@127.0.0.1:${jump1.port},ssh://${jump2.user}@127.0.0.1:${jump2.port}`,
        '-L',
        `0:127.0.0.1:${cluster.port}`,
        '-i',
        keyFile,
        '--known-hosts',
        knownHosts,
        '-p',
        String(target.port),
        `${target.user}@127.0.0.1`,
      ],
      { home },
    );
    try {
      const port = tunnel.ports[0] ?? 0;
      const out = await psqlOk({
        conninfo: `host=127.0.0.1 port=${port} user=postgres sslmode=disable`,
        sql: 'SELECT 7',
      });
      assert.equal(out, '7');
      assert.match(
        tunnel.stdout(),
        new RegExp(`through .*:${jump1.port} -> .*:${jump2.port} -> .*:${target.port}\\n`),
      );
      // jump1 opened the channel to jump2, jump2 to the target, the target to PostgreSQL.
      assert.match(jump1.log(), forwardedTo(jump2.port));
      assert.match(jump2.log(), forwardedTo(target.port));
      assert.match(target.log(), forwardedTo(cluster.port));
      assert.doesNotMatch(jump1.log(), forwardedTo(cluster.port));
    } finally {
      await tunnel.stop();
    }
  });

  /** ~/.ssh/config: `db-target` reached through `bastion` (jump1) with ProxyJump. */
  const writeBastionConfig = (options: { knownHostsFile: string; targetLines?: string[] }) =>
    writeFile(
      join(home, '.ssh', 'config'),
      [
        'Host db-target',
        '  HostName 127.0.0.1',
        `  Port ${target.port}`,
        '  ProxyJump bastion',
        ...(options.targetLines ?? []),
        'Host bastion',
        '  HostName 127.0.0.1',
        `  Port ${jump1.port}`,
        'Host *',
        `  User ${target.user}`,
        `  IdentityFile ${keyFile}`,
        `  UserKnownHostsFile ${options.knownHostsFile}`,
        '',
      ].join('\n'),
    );

  it('follows ProxyJump from ~/.ssh/config', async () => {
    await writeBastionConfig({ knownHostsFile: knownHosts });
    const tunnel = await startTunnelCli(
      ['-L', `0:127.0.0.1:${cluster.port}`, '--check', 'db-target'],
      {
        home,
      },
    );
    try {
      assert.match(
        tunnel.stdout(),
        /PostgreSQL answered at 127\.0\.0\.1:\d+ \(SSL not supported\)/,
      );
      assert.match(tunnel.stdout(), new RegExp(`through .*:${jump1.port} -> .*:${target.port}\\n`));
      const out = await psqlOk({
        conninfo: `host=127.0.0.1 port=${tunnel.ports[0]} user=postgres sslmode=disable`,
        sql: 'SELECT 8',
      });
      assert.equal(out, '8');
    } finally {
      await tunnel.stop();
      await rm(join(home, '.ssh', 'config'));
    }
  });

  it("checks a jump host's key strictly when only the destination says StrictHostKeyChecking no", async () => {
    const impostor = await createKeyPair(home, 'impostor_host_key');
    // Of the target's own key type: a different type would count as a new key, not a changed one.
    const targetImpostor = await createKeyPair(home, 'impostor_ecdsa_host_key', 'ecdsa');
    const file = join(home, 'known_hosts_relaxed');
    const config = (jumpLine: string) =>
      writeFile(
        file,
        [jumpLine, `[127.0.0.1]:${target.port} ${targetImpostor.publicKey}`, ''].join('\n'),
      );
    await writeBastionConfig({ knownHostsFile: file, targetLines: ['  StrictHostKeyChecking no'] });
    try {
      // The bastion's key is wrong too: its own (default, strict) setting refuses it.
      await config(`[127.0.0.1]:${jump1.port} ${impostor.publicKey}`);
      const refused = await runTunnelCli(['-L', `0:127.0.0.1:${cluster.port}`, 'db-target'], {
        home,
      });
      assert.equal(refused.code, 1);
      assert.ok(
        refused.stderr.includes(
          `pgtunnel: HOST KEY MISMATCH for [127.0.0.1]:${jump1.port}: the server presented ` +
            `ED25519 key ${jump1.hostKeys[0]?.fingerprint}`,
        ),
        refused.stderr,
      );

      // With the bastion known, the destination's changed key is let through to log in, but,
      // as ssh does under StrictHostKeyChecking no, nothing is forwarded through it.
      await config(jump1.knownHostsLines().join('\n'));
      const targetLogFrom = target.log().length;
      const lenient = await runTunnelCli(['-L', `0:127.0.0.1:${cluster.port}`, 'db-target'], {
        home,
      });
      assert.equal(lenient.code, 1, lenient.stderr);
      assert.doesNotMatch(lenient.stdout, /listening on/);
      assert.match(
        lenient.stderr,
        new RegExp(
          `HOST KEY MISMATCH for \\[127\\.0\\.0\\.1\\]:${target.port}: .*Port forwarding is disabled to avoid man-in-the-middle attacks\\.`,
        ),
      );
      assert.match(target.log().slice(targetLogFrom), /Accepted publickey/);
      assert.doesNotMatch(target.log().slice(targetLogFrom), forwardedTo(cluster.port));
    } finally {
      await rm(join(home, '.ssh', 'config'));
    }
  });

  it('refuses a jump host whose key does not match, naming that host', async () => {
    const other = await createKeyPair(home, 'not_jump2_host_key');
    const wrong = join(home, 'known_hosts_wrong');
    await writeFile(
      wrong,
      [
        ...jump1.knownHostsLines(),
        `[127.0.0.1]:${jump2.port} ${other.publicKey}`,
        ...target.knownHostsLines(),
        '',
      ].join('\n'),
    );
    const result = await runTunnelCli(
      [
        '-J',
        `${jump1.user}@127.0.0.1:${jump1.port},${jump2.user}@127.0.0.1:${jump2.port}`,
        '-L',
        `0:127.0.0.1:${cluster.port}`,
        '-i',
        keyFile,
        '--known-hosts',
        wrong,
        '-p',
        String(target.port),
        `${target.user}@127.0.0.1`,
      ],
      { home },
    );
    assert.equal(result.code, 1);
    const fingerprint = jump2.hostKeys[0]?.fingerprint ?? '';
    assert.ok(
      result.stderr.includes(
        `HOST KEY MISMATCH for [127.0.0.1]:${jump2.port}: the server presented ED25519 key ${fingerprint}, ` +
          `but ${wrong}:2 lists a different ED25519 key.`,
      ),
      result.stderr,
    );
  });
});
