// known_hosts against a real sshd: a changed key is refused with ssh's SHA256 fingerprint and
// the file:line, an unknown host is refused by default, accept-new records the key (in a form
// OpenSSH's ssh-keygen finds) and then still refuses a different key, the real ssh client and
// pgtunnel each trust what the other added, @revoked wins, and entries hashed by ssh-keygen -H
// are matched.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../helpers/run.js';
import {
  createKeyPair,
  type KeyPair,
  runTunnelCli,
  type Sshd,
  startSshd,
  startTunnelCli,
} from '../helpers/sshd.js';

describe('pgtunnel ssh: host key checking', () => {
  let sshd: Sshd;
  let home: string;
  let user: KeyPair;
  let stranger: KeyPair;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'pgtunnel-ssh-hostkey-'));
    user = await createKeyPair(home, 'id_test');
    stranger = await createKeyPair(home, 'stranger');
    // Two host keys: the client must pick the type known_hosts vouches for.
    sshd = await startSshd({
      authorizedKeys: [user.publicKey],
      hostKeyTypes: ['ed25519', 'ecdsa'],
    });
  });

  after(async () => {
    await sshd?.stop();
    await rm(home, { recursive: true, force: true });
  });

  // Forward to a port nobody needs: these tests are about connecting to sshd.
  const args = (knownHosts: string, ...extra: string[]) => [
    '-L',
    '0:127.0.0.1:9',
    '-i',
    user.privateKeyFile,
    '--known-hosts',
    knownHosts,
    ...extra,
    '-p',
    String(sshd.port),
    `${sshd.user}@127.0.0.1`,
  ];
  const name = () => `[127.0.0.1]:${sshd.port}`;
  const ed25519 = () => sshd.hostKeys[0] as KeyPair;
  const ecdsa = () => sshd.hostKeys[1] as KeyPair;

  it('refuses a changed host key, printing the fingerprint and the known_hosts line', async () => {
    const file = join(home, 'kh-changed');
    await writeFile(
      file,
      `# earlier key\nother.example ${ecdsa().publicKey}\n${name()} ${stranger.publicKey}\n`,
    );
    const result = await runTunnelCli(args(file), { home });
    assert.equal(result.code, 1);
    assert.ok(
      result.stderr.includes(
        `pgtunnel: HOST KEY MISMATCH for ${name()}: the server presented ED25519 key ` +
          `${ed25519().fingerprint}, but ${file}:3 lists a different ED25519 key. Someone may be ` +
          'intercepting the connection (man-in-the-middle)',
      ),
      result.stderr,
    );
    assert.match(result.stderr, new RegExp(`ssh-keygen -R '\\[127\\.0\\.0\\.1\\]:${sshd.port}'`));
    assert.doesNotMatch(sshd.log(), /Accepted publickey/);
  });

  it("with StrictHostKeyChecking no and a changed key, connects but forwards nothing, in ssh's words", async () => {
    const file = join(home, 'kh-changed-lenient');
    await writeFile(file, `${name()} ${stranger.publicKey}\n`);
    const result = await runTunnelCli(args(file, '-o', 'StrictHostKeyChecking=no'), { home });
    assert.equal(result.code, 1, result.stderr);
    assert.doesNotMatch(result.stdout, /listening on/);
    assert.ok(
      result.stderr.includes(
        `pgtunnel: HOST KEY MISMATCH for ${name()}: the server presented ED25519 key ` +
          `${ed25519().fingerprint}, but ${file}:1 lists a different ED25519 key. ` +
          'StrictHostKeyChecking is no, so the connection was made, but as ssh does: ' +
          'Port forwarding is disabled to avoid man-in-the-middle attacks.',
      ),
      result.stderr,
    );
    // The log carries ssh's own warning, with the offending line.
    assert.ok(result.stderr.includes('WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!'));
    assert.ok(result.stderr.includes(`Offending ED25519 key in ${file}:1.`), result.stderr);
    // Connected (authenticated) as ssh would, and the file is left alone.
    assert.match(sshd.log(), /Accepted publickey/);
    assert.equal(await readFile(file, 'utf8'), `${name()} ${stranger.publicKey}\n`);
  });

  it('with StrictHostKeyChecking no, takes a key of a type not on file as new, as ssh does', async () => {
    // Only an RSA key on file, and the server has none: it presents ED25519, a new key type.
    const rsa = await createKeyPair(home, 'stranger_rsa', 'rsa');
    const file = join(home, 'kh-other-type');
    await writeFile(file, `${name()} ${rsa.publicKey}\n`);
    const strict = await runTunnelCli(args(file), { home });
    assert.equal(strict.code, 1);
    assert.match(strict.stderr, /knows it with RSA keys only/);

    const tunnel = await startTunnelCli(args(file, '-o', 'StrictHostKeyChecking=no'), { home });
    await tunnel.stop();
    assert.match(tunnel.stderr(), /Accepted as new: StrictHostKeyChecking is no/);
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[1] ?? '', / ssh-ed25519 /);
  });

  it('refuses an unknown host by default, and with accept-new adds it so OpenSSH finds it', async () => {
    const file = join(home, 'kh-new');
    const strict = await runTunnelCli(args(file), { home });
    assert.equal(strict.code, 1);
    assert.ok(
      strict.stderr.includes(
        `the host key of ${name()} is not known: the server presented ED25519 key ${ed25519().fingerprint}.`,
      ),
      strict.stderr,
    );
    // The exact command that fetches the key.
    assert.ok(
      strict.stderr.includes(`add it with: ssh-keyscan -p ${sshd.port} 127.0.0.1 >> ${file}`),
      strict.stderr,
    );

    const tunnel = await startTunnelCli(args(file, '-o', 'StrictHostKeyChecking=accept-new'), {
      home,
    });
    await tunnel.stop();
    // Which key got in, as ssh -v says it.
    assert.ok(
      tunnel
        .stderr()
        .includes(
          `authenticated to ${sshd.user}@127.0.0.1:${sshd.port} as ${sshd.user} using publickey ` +
            `with key ~/id_test ED25519 ${user.fingerprint}`,
        ),
      tunnel.stderr(),
    );
    const written = await readFile(file, 'utf8');
    assert.match(written, /^\|1\|[A-Za-z0-9+/=]{28}\|[A-Za-z0-9+/=]{28} ssh-ed25519 \S+\n$/);
    const found = await run('ssh-keygen', ['-F', name(), '-f', file]);
    assert.equal(found.code, 0, found.stderr);
    assert.ok(found.stdout.includes(ed25519().publicKey.split(' ')[1] ?? '?'));

    // Now known: strict checking passes.
    const again = await startTunnelCli(args(file), { home });
    await again.stop();

    // accept-new does not accept a *changed* key.
    await writeFile(file, `${name()} ${stranger.publicKey}\n`);
    const changed = await runTunnelCli(args(file, '-o', 'StrictHostKeyChecking=accept-new'), {
      home,
    });
    assert.equal(changed.code, 1);
    assert.match(changed.stderr, /HOST KEY MISMATCH/);
    assert.equal(await readFile(file, 'utf8'), `${name()} ${stranger.publicKey}\n`);
  });

  it('shares known_hosts with OpenSSH: each reads what the other accepted as new', async () => {
    const ssh = (file: string, strict: string) =>
      run('ssh', [
        '-F',
        'none',
        '-o',
        'BatchMode=yes',
        '-o',
        `StrictHostKeyChecking=${strict}`,
        '-o',
        `UserKnownHostsFile=${file}`,
        '-o',
        'HashKnownHosts=yes',
        '-i',
        user.privateKeyFile,
        '-p',
        String(sshd.port),
        `${sshd.user}@127.0.0.1`,
        'true',
      ]);
    const byPgtunnel = join(home, 'kh-by-pgtunnel');
    const tunnel = await startTunnelCli(
      args(byPgtunnel, '-o', 'StrictHostKeyChecking=accept-new'),
      { home },
    );
    await tunnel.stop();
    const checked = await ssh(byPgtunnel, 'yes');
    assert.equal(checked.code, 0, checked.stderr);

    const byOpenSsh = join(home, 'kh-by-openssh');
    const added = await ssh(byOpenSsh, 'accept-new');
    assert.equal(added.code, 0, added.stderr);
    assert.match(await readFile(byOpenSsh, 'utf8'), /^\|1\|/);
    const strict = await startTunnelCli(args(byOpenSsh), { home });
    await strict.stop();
  });

  it('negotiates the host key type known_hosts has when the server has several', async () => {
    // sshd offers ED25519 and ECDSA and ssh2 prefers ED25519; with only the ECDSA key on
    // file, asking for ECDSA first is what makes this connection succeed.
    const file = join(home, 'kh-ecdsa');
    await writeFile(file, `${name()} ${ecdsa().publicKey}\n`);
    const tunnel = await startTunnelCli(args(file, '--log-level', 'debug'), { home });
    await tunnel.stop();
    assert.ok(tunnel.stderr().includes(ecdsa().fingerprint), tunnel.stderr());
  });

  it('refuses a key marked @revoked even when another line trusts it', async () => {
    const file = join(home, 'kh-revoked');
    await writeFile(file, `${name()} ${ed25519().publicKey}\n@revoked * ${ed25519().publicKey}\n`);
    const result = await runTunnelCli(args(file), { home });
    assert.equal(result.code, 1);
    assert.ok(
      result.stderr.includes(
        `the host key of ${name()} (ED25519 key ${ed25519().fingerprint}) is marked @revoked in ${file}:2`,
      ),
      result.stderr,
    );
  });

  it('matches entries hashed by ssh-keygen -H, with wildcards and negations around them', async () => {
    const file = join(home, 'kh-hashed');
    await writeFile(
      file,
      [
        `[127.0.0.1]:*,!${name()} ${stranger.publicKey}`,
        `${name()} ${ed25519().publicKey}`,
        '',
      ].join('\n'),
    );
    const hashed = await run('ssh-keygen', ['-H', '-f', file]);
    assert.equal(hashed.code, 0, hashed.stderr);
    const text = await readFile(file, 'utf8');
    assert.match(text, /^\|1\|/m);
    assert.doesNotMatch(text, new RegExp(`^\\[127\\.0\\.0\\.1\\]:${sshd.port} `, 'm'));
    const tunnel = await startTunnelCli(args(file), { home });
    await tunnel.stop();
    await rm(`${file}.old`, { force: true });
  });
});
