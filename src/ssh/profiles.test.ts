// Tunnel profiles: sections, repeated keys, shorthand options, quoting, and errors with file:line.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../errors.js';
import { parseProfiles } from './profiles.js';

describe('profiles', () => {
  it('reads [ssh.NAME] sections and skips other sections', () => {
    const profiles = parseProfiles(
      [
        '# shared file',
        '[serve]',
        'port = 6432',
        '[ssh.prod]',
        'destination = joe@foo.com',
        'jump = joe@shell.foo.com',
        'forward = 63333:localhost:5432',
        'forward = 63334:replica:5432   # the replica',
        "identity_file = '~/.ssh/id prod'",
        'strict_host_key_checking = accept-new',
        'server_alive_interval = 10',
        'option = HashKnownHosts=no',
        'connect_wait = 2.5',
        'check = on',
        '',
        '[ssh.dev]',
        "destination = 'it''s-a-host'",
        'port = 2222',
      ].join('\n'),
      'tunnels.conf',
    );
    assert.deepEqual([...profiles.keys()], ['prod', 'dev']);
    const prod = profiles.get('prod');
    assert.equal(prod?.location, 'tunnels.conf:4');
    assert.equal(prod?.destination, 'joe@foo.com');
    assert.equal(prod?.jump, 'joe@shell.foo.com');
    assert.deepEqual(prod?.forwards, ['63333:localhost:5432', '63334:replica:5432']);
    assert.deepEqual(prod?.identityFiles, ['~/.ssh/id prod']);
    assert.deepEqual(prod?.options, [
      'StrictHostKeyChecking=accept-new',
      'ServerAliveInterval=10',
      'HashKnownHosts=no',
    ]);
    assert.equal(prod?.connectWaitSeconds, 2.5);
    assert.equal(prod?.check, true);
    assert.equal(profiles.get('dev')?.destination, "it's-a-host");
    assert.equal(profiles.get('dev')?.port, 2222);
  });

  it('refuses unknown keys, stray keys, bad values and duplicates with file:line', () => {
    const bad = (text: string, pattern: RegExp) =>
      assert.throws(
        () => parseProfiles(text, 't.conf'),
        (e: unknown) => e instanceof ConfigError && pattern.test(e.message),
      );
    bad('[ssh.a]\nhostname = x\n', /^t\.conf:2: unknown key "hostname"; known keys: destination/);
    bad('destination = x\n', /^t\.conf:1: "destination" is outside a profile/);
    bad('[ssh.a]\nport = 0\n', /^t\.conf:2: port must be a number from 1 to 65535, not "0"/);
    bad('[ssh.a]\ncheck = maybe\n', /^t\.conf:2: check must be on or off/);
    bad('[ssh.a]\n[ssh.a]\n', /^t\.conf:2: profile "a" is defined twice \(first at t\.conf:1\)/);
    bad("[ssh.a]\nuser = 'joe\n", /^t\.conf:2: unterminated quoted value/);
    bad('[ssh.a b]\n', /^t\.conf:1: invalid profile name "a b"/);
    bad('[ssh.a]\njust words\n', /^t\.conf:2: expected "key = value"/);
  });
});
