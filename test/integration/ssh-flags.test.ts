// ssh's own flags on `pgtunnel ssh`: -f goes to the background once the forwards listen (the
// background process serves, and --pid-file names it), -q and -v set the log level (-vvv adds
// the protocol trace), -4/-6 choose the address family for the SSH connection and for
// `localhost` listeners (both loopbacks by default, as ssh binds them), -C compresses, and the
// flags it does not offer are answered with one line and exit status 2.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { psqlOk } from '../helpers/clients.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import {
  createKeyPair,
  runTunnelCli,
  type Sshd,
  startSshd,
  startTunnelCli,
  type TunnelCli,
} from '../helpers/sshd.js';

const ROOT = join(import.meta.dirname, '..', '..');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('pgtunnel ssh: ssh flags', () => {
  let cluster: Cluster;
  let sshd: Sshd;
  let home: string;
  let keyFile: string;
  let knownHosts: string;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'pgtunnel-ssh-flags-'));
    const key = await createKeyPair(home, 'id_test');
    keyFile = key.privateKeyFile;
    [cluster, sshd] = await Promise.all([
      startCluster(),
      startSshd({ authorizedKeys: [key.publicKey], ipv6: true }),
    ]);
    knownHosts = join(home, 'known_hosts');
    const keys = sshd.hostKeys.map((k) => k.publicKey);
    await writeFile(
      knownHosts,
      `${keys.map((k) => `[127.0.0.1]:${sshd.port},[::1]:${sshd.port} ${k}`).join('\n')}\n`,
    );
  });

  after(async () => {
    await Promise.all([sshd?.stop(), cluster?.stop()]);
    await rm(home, { recursive: true, force: true });
  });

  const common = () => ['-i', keyFile, '--known-hosts', knownHosts, '-p', String(sshd.port)];
  const psqlAt = (host: string, port: number | undefined, n: number) =>
    psqlOk({
      conninfo: `host=${host} port=${port} user=postgres sslmode=disable`,
      sql: `SELECT ${n}`,
    });

  it('-f -N returns once the forwards listen; the background process serves and owns the PID file', async () => {
    const pidFile = join(home, 'tunnel.pid');
    const parent = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'ssh',
        '-f',
        '-N',
        '-L',
        `0:127.0.0.1:${cluster.port}`,
        '--pid-file',
        pidFile,
        ...common(),
        `${sshd.user}@127.0.0.1`,
      ],
      { cwd: ROOT, env: { PATH: process.env.PATH, HOME: home, LANG: 'C' } },
    );
    let out = '';
    let err = '';
    parent.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    parent.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    // The background process keeps stderr (as ssh -f does), so wait for the exit, not the pipes.
    const [code] = await once(parent, 'exit');
    let background: number | undefined;
    try {
      assert.equal(code, 0, err);
      const port = Number(/listening on 127\.0\.0\.1:(\d+),/.exec(out)?.[1]);
      assert.ok(port > 0, out);
      background = Number(readFileSync(pidFile, 'utf8').trim());
      assert.notEqual(background, parent.pid);
      assert.ok(alive(background), 'the PID file names a live process');
      assert.match(
        readFileSync(`/proc/${background}/cmdline`, 'utf8'),
        /src\/cli\/main\.ts\0ssh\0/,
        'the PID file names the tunnel process',
      );
      assert.equal(await psqlAt('127.0.0.1', port, 11), '11');

      process.kill(background, 'SIGTERM');
      while (alive(background)) await delay(25);
      assert.equal(existsSync(pidFile), false, 'the PID file is removed at exit');
    } finally {
      if (background && alive(background)) process.kill(background, 'SIGKILL');
    }
  });

  it('-q logs errors only; -v logs debug lines; -vvv adds the SSH protocol trace; -C compresses', async () => {
    const newHost = async (...flags: string[]) => {
      // An empty known_hosts and accept-new: a warning is logged ("permanently added").
      const file = join(home, `kh-${flags.join('') || 'none'}`);
      await writeFile(file, '');
      const tunnel = await startTunnelCli(
        [
          ...flags,
          '-L',
          `0:127.0.0.1:${cluster.port}`,
          '-i',
          keyFile,
          '--known-hosts',
          file,
          '-o',
          'StrictHostKeyChecking=accept-new',
          '-p',
          String(sshd.port),
          `${sshd.user}@127.0.0.1`,
        ],
        { home },
      );
      await tunnel.stop();
      return tunnel.stderr();
    };
    const [plain, quiet, verbose, trace, compressed] = await Promise.all([
      newHost(),
      newHost('-q'),
      newHost('-v'),
      newHost('-vvv'),
      newHost('-C', '-vvv'),
    ]);
    assert.match(plain, /permanently added/);
    assert.doesNotMatch(plain, /"level":20/);
    assert.doesNotMatch(quiet, /permanently added/);
    assert.doesNotMatch(quiet, /"level":(20|30|40)/);
    assert.match(verbose, /"level":20.*SSH hop connected/);
    assert.doesNotMatch(verbose, /Local ident/);
    assert.match(trace, /"level":20.*Local ident: 'SSH-2\.0-/);
    // -C: zlib is what the handshake settles on; without it, none.
    assert.match(trace, /Handshake: C->S compression: none"/);
    assert.match(compressed, /Handshake: C->S compression: zlib@openssh\.com"/);
  });

  it('-4 and -6 choose the address family of the SSH connection and of localhost listeners', async () => {
    const from = sshd.log().length;
    const started: TunnelCli[] = [];
    const start = async (flags: string[], destination: string) => {
      const tunnel = await startTunnelCli(
        [...flags, '-L', `0:127.0.0.1:${cluster.port}`, ...common(), destination],
        { home },
      );
      started.push(tunnel);
      return tunnel;
    };
    try {
      const both = await start([], `${sshd.user}@127.0.0.1`);
      const v4 = await start(['-4'], `${sshd.user}@127.0.0.1`);
      const v6 = await start(['-6'], `${sshd.user}@::1`);
      // Like ssh: the default bind address, localhost, is both 127.0.0.1 and ::1.
      assert.match(both.stdout(), /listening on 127\.0\.0\.1:(\d+), \[::1\]:\1, forwarding/);
      assert.match(v4.stdout(), /listening on 127\.0\.0\.1:\d+, forwarding/);
      assert.match(v6.stdout(), /listening on \[::1\]:\d+, forwarding/);
      assert.equal(await psqlAt('127.0.0.1', both.ports[0], 12), '12');
      assert.equal(await psqlAt('::1', both.ports[0], 13), '13');
      assert.equal(await psqlAt('127.0.0.1', v4.ports[0], 14), '14');
      assert.equal(await psqlAt('::1', v6.ports[0], 15), '15');
      assert.match(sshd.log().slice(from), /Accepted publickey for \S+ from ::1 /);
    } finally {
      await Promise.all(started.map((t) => t.stop()));
    }
    // -4 keeps the SSH connection itself on IPv4: an IPv6 server address is not used.
    const refused = await runTunnelCli(
      ['-4', '-L', `0:127.0.0.1:${cluster.port}`, ...common(), `${sshd.user}@::1`],
      { home },
    );
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /IPv4/);
  });

  it('answers the ssh flags it does not offer with one line, exit status 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [
        ['-D', '1080'],
        /^pgtunnel: ssh's -D is not supported by pgtunnel ssh: dynamic \(SOCKS\) forwarding/,
      ],
      [
        ['-fN', '-R', '5432:localhost:5432'],
        /^pgtunnel: ssh's -R is not supported by pgtunnel ssh: remote forwards/,
      ],
      [
        ['-A'],
        /^pgtunnel: ssh's -A is not supported by pgtunnel ssh: agent forwarding needs a remote session/,
      ],
      [['-Z'], /^error: unknown option '-Z'/],
    ];
    const results = await Promise.all(
      cases.map(([flags]) =>
        runTunnelCli([...flags, '-L', '0:localhost:5432', 'somewhere'], { home }),
      ),
    );
    results.forEach((result, index) => {
      const [flags, pattern] = cases[index] as [string[], RegExp];
      assert.equal(result.code, 2, `${flags.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, pattern);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    });
  });
});
