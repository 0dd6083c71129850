// psql through `pgtunnel ssh -L` to a real PostgreSQL behind a real OpenSSH sshd; --check;
// a refused channel reaching the client (node-postgres, and psql with its default sslmode) as a
// PostgreSQL FATAL; profiles and ~/.ssh/config.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { psqlOk, runPsql } from '../helpers/clients.js';
import type { Cluster } from '../helpers/pg-cluster.js';
import { freePort } from '../helpers/ports.js';
import {
  createKeyPair,
  runTunnelCli,
  type Sshd,
  type SshScene,
  startSshd,
  startSshScene,
  startTunnelCli,
  type TunnelCli,
} from '../helpers/sshd.js';

describe('pgtunnel ssh: psql through the tunnel', () => {
  let cluster: Cluster;
  let sshd: Sshd;
  let home: string;
  let scene: SshScene;
  const tunnels: TunnelCli[] = [];

  before(async () => {
    scene = await startSshScene('ssh-home');
    ({ cluster, sshd, home } = scene);
  });

  after(async () => {
    await Promise.all(tunnels.map((t) => t.stop()));
    await scene?.stop();
  });

  const conninfo = (port: number) => `host=127.0.0.1 port=${port} user=postgres sslmode=disable`;

  it('carries psql sessions, and --check reports PostgreSQL at the far end', async () => {
    // The default key (~/.ssh/id_ed25519) and the default known_hosts are found without flags.
    const tunnel = await startTunnelCli(
      [
        '-N',
        '-L',
        `0:127.0.0.1:${cluster.port}`,
        '-p',
        String(sshd.port),
        '--check',
        `${sshd.user}@127.0.0.1`,
      ],
      { home },
    );
    tunnels.push(tunnel);
    assert.match(
      tunnel.stdout(),
      new RegExp(`PostgreSQL answered at 127\\.0\\.0\\.1:${cluster.port} \\(SSL not supported\\)`),
    );
    const [port] = tunnel.ports;
    assert.ok(port);
    const rows = await psqlOk({
      conninfo: conninfo(port),
      sql: "SELECT inet_client_addr(), current_setting('port')",
    });
    // PostgreSQL sees the connection coming from sshd's side, on its own port.
    assert.equal(rows, `127.0.0.1|${cluster.port}`);
    const parallel = await Promise.all(
      [1, 2, 3, 4].map((n) => psqlOk({ conninfo: conninfo(port), sql: `SELECT ${n} * 10` })),
    );
    assert.deepEqual(parallel, ['10', '20', '30', '40']);
    assert.match(sshd.log(), /Accepted publickey for \S+ from 127\.0\.0\.1/);
  });

  it('answers a client with FATAL 08001 when sshd cannot reach the target', async () => {
    const closedPort = await freePort();
    const tunnel = await startTunnelCli(
      ['-L', `0:127.0.0.1:${closedPort}`, '-p', String(sshd.port), `${sshd.user}@127.0.0.1`],
      { home },
    );
    tunnels.push(tunnel);
    const client = new pg.Client({ host: '127.0.0.1', port: tunnel.ports[0], user: 'postgres' });
    const error = await client.connect().then(
      () => assert.fail('connected through a forward to a closed port'),
      (e: unknown) => e as Error & { code?: string },
    );
    await client.end().catch(() => {});
    assert.equal(error.code, '08001');
    const reason =
      `pgtunnel ssh: the SSH server ${sshd.user}@127.0.0.1:${sshd.port} refused to open a channel ` +
      `to 127.0.0.1:${closedPort}: Connection refused`;
    assert.equal(error.message, reason);
    // psql's default sslmode=prefer opens with SSLRequest; libpq does not print an error sent
    // in answer to that, so the refusal must come after the StartupMessage.
    const psql = await runPsql({
      conninfo: `host=127.0.0.1 port=${tunnel.ports[0]} user=postgres`,
      sql: 'SELECT 1',
    });
    assert.notEqual(psql.code, 0);
    assert.ok(psql.stderr.includes(`failed: FATAL:  ${reason}`), psql.stderr);
  });

  it('fails --check when the far end is not PostgreSQL', async () => {
    const result = await runTunnelCli(
      [
        '--check',
        '-L',
        `0:127.0.0.1:${sshd.port}`,
        '-p',
        String(sshd.port),
        `${sshd.user}@127.0.0.1`,
      ],
      { home },
    );
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(
        `pgtunnel: --check failed: 127\\.0\\.0\\.1:${sshd.port} does not answer like PostgreSQL: ` +
          'it spoke first \\("SSH-2\\.0-OpenSSH',
      ),
    );
  });

  it('--check with several forwards reports every one, the good ones too', async () => {
    const result = await runTunnelCli(
      [
        '--check',
        '-L',
        `0:127.0.0.1:${sshd.port}`,
        '-L',
        `0:127.0.0.1:${cluster.port}`,
        '-L',
        '0:127.0.0.1:9',
        '-p',
        String(sshd.port),
        `${sshd.user}@127.0.0.1`,
      ],
      { home },
    );
    assert.equal(result.code, 1, result.stderr);
    assert.ok(
      result.stdout.includes(
        `pgtunnel ssh: 127.0.0.1:${sshd.port} does not answer like PostgreSQL: it spoke first`,
      ),
      result.stdout,
    );
    assert.ok(
      result.stdout.includes(
        `pgtunnel ssh: PostgreSQL answered at 127.0.0.1:${cluster.port} (SSL not supported)`,
      ),
      result.stdout,
    );
    assert.ok(
      result.stdout.includes('refused to open a channel to 127.0.0.1:9: Connection refused'),
      result.stdout,
    );
    assert.match(result.stderr, /pgtunnel: --check failed for 2 of 3 forwards: /);
  });

  it('runs a profile from --config that names a ~/.ssh/config Host', async () => {
    const keys = join(home, 'keys');
    await mkdir(keys, { recursive: true });
    const profileKey = await createKeyPair(keys, 'db_key');
    const restricted = await startSshd({ authorizedKeys: [profileKey.publicKey] });
    try {
      await writeFile(
        join(home, '.ssh', 'config'),
        [
          'Host pgbox',
          '  HostName 127.0.0.1',
          `  Port ${restricted.port}`,
          `  User ${restricted.user}`,
          '  IdentityFile ~/keys/%n_key',
          '  IdentitiesOnly yes',
          'Host *',
          '  ServerAliveInterval 5',
          '',
        ].join('\n'),
      );
      await writeFile(join(home, 'kh-profile'), `${restricted.knownHostsLines().join('\n')}\n`);
      const configFile = join(home, 'pgtunnel.conf');
      await writeFile(
        configFile,
        [
          '# tunnels',
          '[gateway]',
          "listen = 127.0.0.1:1 # another command's section: skipped",
          '[ssh.db]',
          'destination = pgbox',
          `forward = 0:127.0.0.1:${cluster.port}`,
          "known_hosts = '~/kh-profile'",
          'check = on',
          '',
        ].join('\n'),
      );
      // The Host alias `pgbox` gives %n = pgbox, so IdentityFile is ~/keys/pgbox_key: absent.
      const wrong = await runTunnelCli(['--config', configFile, '--profile', 'db'], { home });
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /identity file ~\/keys\/pgbox_key: ENOENT/);
      await writeFile(
        join(home, '.ssh', 'config'),
        `Host pgbox\n  IdentityFile ~/keys/db_key\nHost pgbox\n  HostName 127.0.0.1\n  Port ${restricted.port}\n  IdentitiesOnly yes\n`,
      );
      const tunnel = await startTunnelCli(['--config', configFile, '--profile', 'db'], { home });
      tunnels.push(tunnel);
      assert.match(
        tunnel.stdout(),
        /PostgreSQL answered at 127\.0\.0\.1:\d+ \(SSL not supported\)/,
      );
      assert.match(
        tunnel.stdout(),
        new RegExp(`through \\S+@127\\.0\\.0\\.1:${restricted.port}\\n`),
      );
      assert.equal(
        await psqlOk({ conninfo: conninfo(tunnel.ports[0] ?? 0), sql: 'SELECT 42' }),
        '42',
      );
      // SIGTERM is a normal stop: exit status 0.
      assert.equal(await tunnel.stop(), 0);

      const missing = await runTunnelCli(['--config', configFile, '--profile', 'nope'], { home });
      assert.equal(missing.code, 3);
      assert.match(missing.stderr, /has no \[ssh\.nope\] profile; profiles there: db/);
    } finally {
      await restricted.stop();
    }
  });
});
