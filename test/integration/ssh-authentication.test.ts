// Authentication and connection errors in words a user can act on, against a real sshd:
// a key the server does not accept, a passphrase-protected key (then the same key through a
// real ssh-agent), sshd not listening, and a local port already taken.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { spawn } from '../helpers/children.js';
import { freePort } from '../helpers/ports.js';
import { run } from '../helpers/run.js';
import {
  createKeyPair,
  type KeyPair,
  runTunnelCli,
  type Sshd,
  startSshd,
  startTunnelCli,
} from '../helpers/sshd.js';

describe('pgtunnel ssh: authentication and connection errors', () => {
  let sshd: Sshd;
  let home: string;
  let knownHosts: string;
  let allowed: KeyPair;
  let locked: KeyPair;
  let agent: ChildProcess | undefined;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'pgtunnel-ssh-auth-'));
    allowed = await createKeyPair(home, 'allowed');
    locked = await createKeyPair(home, 'locked', 'ed25519', 'correct horse');
    sshd = await startSshd({ authorizedKeys: [allowed.publicKey, locked.publicKey] });
    knownHosts = join(home, 'known_hosts');
    await writeFile(knownHosts, `${sshd.knownHostsLines().join('\n')}\n`);
  });

  after(async () => {
    if (agent?.exitCode === null) {
      agent.kill('SIGTERM');
      await once(agent, 'exit');
    }
    await sshd?.stop();
    await rm(home, { recursive: true, force: true });
  });

  const args = (...extra: string[]) => [
    '-L',
    '0:127.0.0.1:9',
    '--known-hosts',
    knownHosts,
    ...extra,
    '-p',
    String(sshd.port),
    `${sshd.user}@127.0.0.1`,
  ];

  it('says which methods the server takes and which keys were tried', async () => {
    const stranger = await createKeyPair(home, 'stranger');
    const result = await runTunnelCli(
      args('-i', stranger.privateKeyFile, '-i', join(home, 'absent')),
      {
        home,
      },
    );
    assert.equal(result.code, 1);
    assert.ok(
      result.stderr.includes(
        `pgtunnel: SSH authentication failed for ${sshd.user}@127.0.0.1:${sshd.port}: the server ` +
          'accepts publickey; tried key ~/stranger; identity file ~/absent: ENOENT. Check that the ' +
          `public key is in ~${sshd.user}/.ssh/authorized_keys on 127.0.0.1, or give the right key with -i`,
      ),
      result.stderr,
    );
    assert.match(sshd.log(), /Failed publickey for \S+ from 127\.0\.0\.1/);
  });

  it('explains a passphrase-protected key, and uses it through ssh-agent', async () => {
    const direct = await runTunnelCli(args('-i', locked.privateKeyFile), { home });
    assert.equal(direct.code, 1);
    assert.match(
      direct.stderr,
      /identity file ~\/locked is passphrase-protected: add it to ssh-agent \(ssh-add ~\/locked\)/,
    );

    const socket = join(home, 'agent.sock');
    agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    while (!existsSync(socket) && agent.exitCode === null) await delay(20);
    const askpass = join(home, 'askpass.sh');
    await writeFile(askpass, "#!/bin/sh\necho 'correct horse'\n");
    await chmod(askpass, 0o700);
    const added = await run('ssh-add', [locked.privateKeyFile], {
      env: {
        PATH: process.env.PATH,
        SSH_AUTH_SOCK: socket,
        SSH_ASKPASS: askpass,
        SSH_ASKPASS_REQUIRE: 'force',
      },
    });
    assert.equal(added.code, 0, added.stderr);

    // No -i: the agent is found through SSH_AUTH_SOCK, as ssh does.
    const tunnel = await startTunnelCli(args(), { home, env: { SSH_AUTH_SOCK: socket } });
    await tunnel.stop();
    const accepted = [...sshd.log().matchAll(/Accepted publickey for \S+ .* ssh2: ED25519 (\S+)/g)];
    assert.ok(
      accepted.some((m) => m[1] === locked.fingerprint),
      `sshd did not accept the agent's key:\n${sshd.log()}`,
    );
  });

  it('reports an SSH server that is not listening', async () => {
    const closed = await freePort();
    const result = await runTunnelCli(
      ['-L', '0:127.0.0.1:9', '-i', allowed.privateKeyFile, '-p', String(closed), 'u@127.0.0.1'],
      {
        home,
      },
    );
    assert.equal(result.code, 1);
    assert.ok(
      result.stderr.includes(
        `pgtunnel: cannot connect to the SSH server u@127.0.0.1:${closed}: connection refused ` +
          `(is sshd running and listening on port ${closed}?)`,
      ),
      result.stderr,
    );
  });

  it('reports a local port that is already taken, before connecting', async () => {
    const busy = createServer();
    busy.listen(0, '127.0.0.1');
    await once(busy, 'listening');
    const port = (busy.address() as { port: number }).port;
    try {
      const before = sshd.log().length;
      const result = await runTunnelCli(
        args('-i', allowed.privateKeyFile, '-L', `${port}:127.0.0.1:9`),
        { home },
      );
      assert.equal(result.code, 1);
      assert.ok(
        result.stderr.includes(
          `pgtunnel: could not listen on 127.0.0.1:${port} for -L ${port}:127.0.0.1:9: the address is already in use`,
        ),
        result.stderr,
      );
      assert.doesNotMatch(sshd.log().slice(before), /Accepted publickey/);
    } finally {
      busy.close();
    }
  });
});
