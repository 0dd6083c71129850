// The sshd dies (every sshd process SIGKILLed, like a crash) and comes back on the same port:
// the tunnel's listener stays up, a client arriving while it is down past --connect-wait gets
// a FATAL 08001 psql prints, a client arriving shortly before sshd returns waits and gets
// through, and new psql sessions work after the reconnect. A server that stops answering
// without closing anything (every sshd process SIGSTOPped) is caught by keep-alives. A server
// that returns with a host key known_hosts does not vouch for is refused until the file says so,
// and under StrictHostKeyChecking no is logged in to but not forwarded to.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { psqlOk, runPsql } from '../helpers/clients.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import {
  createKeyPair,
  type Sshd,
  startSshd,
  startTunnelCli,
  type TunnelCli,
} from '../helpers/sshd.js';

describe('pgtunnel ssh: reconnect after sshd restart', () => {
  let cluster: Cluster;
  let sshd: Sshd;
  let home: string;
  let tunnel: TunnelCli | undefined;
  let keyFile: string;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'pgtunnel-ssh-reconnect-'));
    const key = await createKeyPair(home, 'id_test');
    keyFile = key.privateKeyFile;
    [cluster, sshd] = await Promise.all([
      startCluster(),
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
        // Long enough for sshd to start again and the tunnel to reconnect while a client
        // waits, even on a busy machine; the tests wait for events, never for it.
        '--connect-wait',
        '8',
        '--reconnect-max-delay',
        '1',
        '-p',
        String(sshd.port),
        `${sshd.user}@127.0.0.1`,
      ],
      { home },
    );
  });

  after(async () => {
    sshd?.thaw();
    await tunnel?.stop();
    await Promise.all([sshd?.stop(), cluster?.stop()]);
    await rm(home, { recursive: true, force: true });
  });

  it('keeps listening, explains the outage to clients, and reconnects', async () => {
    assert.ok(tunnel);
    // psql's default sslmode (prefer): the refusal below must still reach it.
    const conninfo = `host=127.0.0.1 port=${tunnel.ports[0]} user=postgres`;
    assert.equal(await psqlOk({ conninfo, sql: 'SELECT 1' }), '1');

    await sshd.kill();
    await tunnel.waitForLog(/SSH connection to \S+ lost; reconnecting/);

    // Down for longer than --connect-wait: psql gets our FATAL, not a reset.
    const arrived = tunnel.stderr().length;
    const refused = await runPsql({ conninfo, sql: 'SELECT 1' });
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr,
      new RegExp(
        `FATAL:  pgtunnel ssh: the SSH tunnel to \\S+@127\\.0\\.0\\.1:${sshd.port} is down for \\d+ s, ` +
          `reconnecting: cannot connect to the SSH server \\S+: connection refused`,
      ),
    );
    // It was held while the tunnel kept trying, and refused only then: more than the one
    // reconnect its arrival triggers failed before its refusal, so it waited for the
    // connection instead of being refused after the first try.
    const meanwhile = tunnel.stderr().slice(arrived);
    const beforeRefusal = meanwhile.slice(0, meanwhile.indexOf('connection refused: '));
    assert.ok(meanwhile.includes('connection refused: '), meanwhile);
    assert.ok(beforeRefusal.split('SSH reconnect failed').length - 1 >= 2, meanwhile);

    // A client that arrives while sshd is still down, but comes back within the wait.
    const waiting = psqlOk({ conninfo, sql: 'SELECT 2' });
    await sshd.start();
    assert.equal(await waiting, '2');
    await tunnel.waitForLog(/SSH connection to \S+ re-established/);

    // New sessions keep working, several at once.
    const results = await Promise.all(
      [3, 4, 5].map((n) => psqlOk({ conninfo, sql: `SELECT ${n}` })),
    );
    assert.deepEqual(results, ['3', '4', '5']);
    assert.equal(tunnel.process.exitCode, null, 'the tunnel process stayed up');
  });

  it('checks the host key again on reconnect, reading known_hosts afresh', async () => {
    assert.ok(tunnel);
    const conninfo = `host=127.0.0.1 port=${tunnel.ports[0]} user=postgres`;
    const knownHosts = join(home, 'known_hosts');
    const good = await readFile(knownHosts, 'utf8');
    const impostor = await createKeyPair(home, 'impostor_host_key');
    const name = `[127.0.0.1]:${sshd.port}`;
    const fingerprint = sshd.hostKeys[0]?.fingerprint ?? '?';

    // The file now vouches for another key: the returning server must be refused.
    let from = tunnel.stderr().length;
    await sshd.kill();
    await tunnel.waitForLog(/SSH connection to \S+ lost; reconnecting/, from);
    await writeFile(knownHosts, `${name} ${impostor.publicKey}\n`);
    from = tunnel.stderr().length;
    await sshd.start();
    await tunnel.waitForLog(
      new RegExp(`SSH reconnect failed: HOST KEY MISMATCH for ${literal(name)}`),
      from,
    );
    const refused = await runPsql({ conninfo, sql: 'SELECT 1' });
    assert.notEqual(refused.code, 0);
    assert.ok(
      refused.stderr.includes(
        `FATAL:  pgtunnel ssh: the SSH tunnel to ${sshd.user}@127.0.0.1:${sshd.port} is down`,
      ) &&
        refused.stderr.includes(
          `HOST KEY MISMATCH for ${name}: the server presented ED25519 key ${fingerprint}, but ` +
            `${knownHosts}:1 lists a different ED25519 key.`,
        ),
      refused.stderr,
    );
    assert.doesNotMatch(sshd.log(), /Accepted publickey/);

    // Fixing the file is enough: the next attempt reads it and gets through.
    from = tunnel.stderr().length;
    await writeFile(knownHosts, good);
    await tunnel.waitForLog(/SSH connection to \S+ re-established/, from);
    assert.equal(await psqlOk({ conninfo, sql: 'SELECT 6' }), '6');
  });

  it('notices a server that went silent through keep-alives, and reconnects when it answers', async () => {
    const silent = await startTunnelCli(
      [
        '-L',
        `0:127.0.0.1:${cluster.port}`,
        '-i',
        keyFile,
        '--known-hosts',
        join(home, 'known_hosts'),
        '-o',
        'ServerAliveInterval=1',
        '-o',
        'ServerAliveCountMax=2',
        '-o',
        'ConnectTimeout=2',
        '--reconnect-max-delay',
        '1',
        '-p',
        String(sshd.port),
        `${sshd.user}@127.0.0.1`,
      ],
      { home },
    );
    try {
      const conninfo = `host=127.0.0.1 port=${silent.ports[0]} user=postgres sslmode=disable`;
      assert.equal(await psqlOk({ conninfo, sql: 'SELECT 1' }), '1');
      sshd.freeze();
      await silent.waitForLog(
        /"reason":"the SSH server \S+ stopped answering keep-alives \(2 missed, every 1 s;/,
      );
      // Reconnect attempts reach a listener that never says hello: ConnectTimeout ends them.
      await silent.waitForLog(
        /SSH reconnect failed: the SSH server \S+ did not finish connecting within 2 s/,
      );
      sshd.thaw();
      await silent.waitForLog(/SSH connection to \S+ re-established/);
      assert.equal(await psqlOk({ conninfo, sql: 'SELECT 2' }), '2');
    } finally {
      sshd.thaw();
      await silent.stop();
    }
  });

  it('under StrictHostKeyChecking no, a server returning with a changed key is not forwarded to', async () => {
    const knownHosts = join(home, 'known_hosts_lenient');
    const name = `[127.0.0.1]:${sshd.port}`;
    await writeFile(knownHosts, `${sshd.knownHostsLines().join('\n')}\n`);
    const lenient = await startTunnelCli(
      [
        '-L',
        `0:127.0.0.1:${cluster.port}`,
        '-i',
        keyFile,
        '--known-hosts',
        knownHosts,
        '-o',
        'StrictHostKeyChecking=no',
        '--connect-wait',
        '1',
        '-p',
        String(sshd.port),
        `${sshd.user}@127.0.0.1`,
      ],
      { home },
    );
    try {
      const conninfo = `host=127.0.0.1 port=${lenient.ports[0]} user=postgres sslmode=disable`;
      assert.equal(await psqlOk({ conninfo, sql: 'SELECT 1' }), '1');
      await sshd.kill();
      await lenient.waitForLog(/SSH connection to \S+ lost; reconnecting/);
      const impostor = await createKeyPair(home, 'lenient_impostor_host_key');
      await writeFile(knownHosts, `${name} ${impostor.publicKey}\n`);
      const from = lenient.stderr().length;
      await sshd.start();
      await lenient.waitForLog(
        /SSH reconnect failed: HOST KEY MISMATCH .*Port forwarding is disabled to avoid man-in-the-middle attacks\./,
        from,
      );
      const refused = await runPsql({ conninfo, sql: 'SELECT 1' });
      assert.notEqual(refused.code, 0);
      assert.ok(
        refused.stderr.includes('Port forwarding is disabled to avoid man-in-the-middle attacks.'),
        refused.stderr,
      );
      assert.equal(await readFile(knownHosts, 'utf8'), `${name} ${impostor.publicKey}\n`);
    } finally {
      await lenient.stop();
    }
  });
});

/** `text` as a literal inside a RegExp. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
