// `-L` the way ssh reads it, against a real sshd and PostgreSQL: several forwards in one tunnel
// with every bind-address form (default loopback, explicit, empty and `*` for all interfaces,
// bracketed IPv6), SIGINT as a clean stop, no key material in debug logs, a port below 1024
// for a user who is not root, and malformed forwards refused before anything is contacted.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { psqlOk } from '../helpers/clients.js';
import type { Cluster } from '../helpers/pg-cluster.js';
import {
  type KeyPair,
  runTunnelCli,
  type Sshd,
  type SshScene,
  startSshScene,
  startTunnelCli,
} from '../helpers/sshd.js';

/** Whether the loopback interface has IPv6 (containers often run without it). */
const hasIpv6Loopback = () =>
  Object.values(networkInterfaces()).some((addresses) =>
    addresses?.some((a) => a.address === '::1'),
  );

/** Resolves true when something accepts a TCP connection at host:port. */
async function accepts(host: string, port: number): Promise<boolean> {
  const socket = connect(port, host);
  try {
    await once(socket, 'connect');
    return true;
  } catch {
    return false;
  } finally {
    socket.destroy();
  }
}

describe('pgtunnel ssh: local forwards', () => {
  let cluster: Cluster;
  let sshd: Sshd;
  let home: string;
  let key: KeyPair;
  let scene: SshScene;

  before(async () => {
    scene = await startSshScene('ssh-forwards');
    ({ cluster, sshd, home, key } = scene);
  });

  after(async () => {
    await scene?.stop();
  });

  it('binds every -L form like ssh, carries psql through each, and stops cleanly on SIGINT', async () => {
    const target = `127.0.0.1:${cluster.port}`;
    const ipv6 = hasIpv6Loopback();
    const forwards = [`0:${target}`, `127.0.0.1:0:${target}`, `:0:${target}`, `*:0:${target}`];
    if (ipv6) forwards.push(`[::1]:0:${target}`);
    const tunnel = await startTunnelCli(
      [
        ...forwards.flatMap((f) => ['-L', f]),
        '--log-level',
        'debug',
        '-p',
        String(sshd.port),
        `${sshd.user}@127.0.0.1`,
      ],
      { home },
      { forwards: forwards.length },
    );
    const bound = [...tunnel.stdout().matchAll(/listening on (\S+):(\d+),/g)].map((m) => ({
      address: m[1],
      port: Number(m[2]),
    }));
    assert.equal(bound.length, forwards.length, tunnel.stdout());
    const [byDefault, explicit, empty, star, v6] = bound;
    // No bind address means loopback only, as ssh without GatewayPorts.
    assert.equal(byDefault?.address, '127.0.0.1');
    assert.equal(explicit?.address, '127.0.0.1');
    // Empty and `*` mean every interface.
    assert.match(empty?.address ?? '', /^(\[::\]|0\.0\.0\.0)$/);
    assert.match(star?.address ?? '', /^(\[::\]|0\.0\.0\.0)$/);
    const ports = new Set(bound.map((b) => b.port));
    assert.equal(ports.size, forwards.length, 'each forward has a port of its own');

    for (const [index, each] of [byDefault, explicit, empty, star].entries()) {
      const out = await psqlOk({
        conninfo: `host=127.0.0.1 port=${each?.port} user=postgres`,
        sql: `SELECT ${index} + 100`,
      });
      assert.equal(out, String(index + 100));
    }
    if (ipv6) {
      assert.equal(v6?.address, '[::1]');
      assert.equal(
        await psqlOk({ conninfo: `host=::1 port=${v6?.port} user=postgres`, sql: 'SELECT 6' }),
        '6',
      );
      assert.equal(await accepts('127.0.0.1', v6?.port ?? 0), false, '[::1] is IPv6 only');
    }

    // SIGINT, like Ctrl-C: exit status 0, every listener closed.
    const exited = once(tunnel.process, 'exit');
    tunnel.process.kill('SIGINT');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0, tunnel.stderr());
    for (const each of bound) assert.equal(await accepts('127.0.0.1', each.port), false);

    // Debug logging was on, and the private key never appears in it.
    assert.match(tunnel.stderr(), /"level":20,.*"msg":"SSH hop connected"/);
    const keyLines = (await readFile(key.privateKeyFile, 'utf8'))
      .split('\n')
      .filter((line) => line && !line.startsWith('-----'));
    assert.ok(keyLines.length > 0);
    for (const line of keyLines) {
      assert.ok(!tunnel.stderr().includes(line) && !tunnel.stdout().includes(line));
    }
  });

  it('warns a user who is not root about a port below 1024, and explains the refusal', async () => {
    // Run as nobody when the tests run as root, as root may bind any port.
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const userHome = join(home, 'unprivileged');
    await mkdir(userHome, { recursive: true });
    await chmod(home, 0o755);
    await chmod(userHome, 0o777);
    const start = Number(
      await readFile('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').catch(() => '1024'),
    );
    const port = 700 + Math.floor(Math.random() * 300);
    const spec = `${port}:127.0.0.1:${cluster.port}`;
    const result = await runTunnelCli(
      ['-F', 'none', '-L', spec, '-p', String(sshd.port), `${sshd.user}@127.0.0.1`],
      { home: userHome, ...asUser },
    );
    assert.equal(result.code, 1, result.stderr);
    assert.ok(
      result.stderr.includes(
        `"msg":"local port ${port} is below 1024 and normally needs root; if binding fails, ` +
          'pick a port of 1024 or more',
      ),
      result.stderr,
    );
    if (start > port) {
      assert.ok(
        result.stderr.includes(
          `pgtunnel: could not listen on 127.0.0.1:${port} for -L ${spec}: permission denied; ` +
            'ports below 1024 need root, so pick a port of 1024 or more\n',
        ),
        result.stderr,
      );
    } else {
      // This kernel lets anyone bind low ports: the bind works, and what fails is the
      // connection (this user has no known_hosts).
      assert.doesNotMatch(result.stderr, /could not listen/);
      assert.match(result.stderr, /pgtunnel: the host key of \S+ is not known/);
    }
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  });

  it('refuses malformed forwards with exit status 2, before contacting the server', async () => {
    const before = sshd.log().length;
    for (const [spec, why] of [
      ['5432', 'expected [bind_address:]port:host:hostport'],
      ['::1:5433:db:5432', 'expected [bind_address:]port:host:hostport'],
      ['5433:db:99999', 'the target port "99999" is not a port number (1-65535)'],
      ['x:db:5432', 'the local port "x" is not a port number (0-65535)'],
      ['5433::5432', 'the target host is empty'],
    ] as const) {
      const result = await runTunnelCli(
        ['-L', spec, '-p', String(sshd.port), `${sshd.user}@127.0.0.1`],
        { home },
      );
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stderr, `pgtunnel: invalid -L forward "${spec}": ${why}\n`);
    }
    assert.equal(sshd.log().length, before, 'sshd saw no connection');
  });
});
