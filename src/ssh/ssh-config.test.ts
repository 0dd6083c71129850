// ssh_config parsing and per-host lookup: Host patterns, first value wins, Include, errors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../errors.js';
import { matchGlob, matchPatternList } from './host-pattern.js';
import { lookupHost, parseSshConfig } from './ssh-config.js';

const CONFIG = `
# a typical user config
Host db
  HostName db.internal.example.com
  User joe
  Port=2222
  IdentityFile ~/.ssh/id_db
  ProxyJump joe@shell.example.com

Host *.internal.example.com !secret.internal.example.com
  User ops

Host "shell.example.com"
  IdentityFile "~/.ssh/id with space"

Match exec "true"
  User never

Host *
  User fallback
  IdentityFile ~/.ssh/id_all
  ServerAliveInterval 30
  StrictHostKeyChecking accept-new
  SendEnv LANG LC_*
`;

describe('host patterns', () => {
  it('matches globs case-insensitively', () => {
    assert.ok(matchGlob('*.example.com', 'DB.Example.COM'));
    assert.ok(matchGlob('db?', 'db1'));
    assert.ok(!matchGlob('db?', 'db12'));
    assert.ok(matchGlob('*', ''));
    assert.ok(matchGlob('a*b*c', 'aXXbYYc'));
    assert.ok(!matchGlob('a*b*c', 'aXXbYY'));
    assert.ok(matchGlob('[db]:*', '[db]:2222'));
  });

  it('lets a negation veto every positive match', () => {
    assert.ok(matchPatternList(['*.example.com', '!bad.example.com'], 'ok.example.com'));
    assert.ok(!matchPatternList(['*.example.com', '!bad.example.com'], 'bad.example.com'));
    assert.ok(!matchPatternList(['!bad'], 'other'));
  });
});

describe('ssh-config', () => {
  const config = parseSshConfig(CONFIG, 'cfg');

  it('takes the first value obtained and accumulates IdentityFile', () => {
    const db = lookupHost(config, 'db');
    assert.equal(db.hostName?.value, 'db.internal.example.com');
    assert.equal(db.user?.value, 'joe');
    assert.equal(db.port?.value, 2222);
    assert.equal(db.port?.location, 'cfg:6');
    assert.equal(db.proxyJump?.value, 'joe@shell.example.com');
    assert.deepEqual(
      db.identityFiles.map((f) => f.value),
      ['~/.ssh/id_db', '~/.ssh/id_all'],
    );
    assert.equal(db.serverAliveInterval?.value, 30);
    assert.equal(db.strictHostKeyChecking?.value, 'accept-new');
  });

  it('matches on the alias as typed, honours negation, skips Match blocks', () => {
    assert.equal(lookupHost(config, 'pg.internal.example.com').user?.value, 'ops');
    assert.equal(lookupHost(config, 'secret.internal.example.com').user?.value, 'fallback');
    assert.equal(lookupHost(config, 'elsewhere').user?.value, 'fallback');
    assert.deepEqual(
      lookupHost(config, 'shell.example.com').identityFiles.map((f) => f.value),
      ['~/.ssh/id with space', '~/.ssh/id_all'],
    );
    assert.equal(config.warnings.length, 1);
    assert.match(config.warnings[0] ?? '', /^cfg:16: "Match exec true" is not supported/);
  });

  it('reads Include files under the including Host block', () => {
    const parsed = parseSshConfig('Host a\n  Include extra.conf\nHost b\n  User bob\n', 'main', {
      include: (pattern, from) => {
        assert.equal(pattern, 'extra.conf');
        assert.equal(from, 'main');
        return [{ file: 'extra.conf', text: 'User alice\nPort 2200\n' }];
      },
    });
    assert.equal(lookupHost(parsed, 'a').user?.value, 'alice');
    assert.equal(lookupHost(parsed, 'a').user?.location, 'extra.conf:1');
    assert.equal(lookupHost(parsed, 'b').user?.value, 'bob');
    assert.equal(lookupHost(parsed, 'b').port, undefined);
  });

  it('refuses lines ssh would refuse, with file:line', () => {
    const bad = (text: string, pattern: RegExp) =>
      assert.throws(
        () => lookupHost(parseSshConfig(text, 'cfg'), 'x'),
        (error: unknown) => error instanceof ConfigError && pattern.test(error.message),
      );
    bad('Host x\n  Port 99999\n', /^cfg:2: Port "99999" is not a port number/);
    bad('Host x\n  IdentitiesOnly maybe\n', /^cfg:2: IdentitiesOnly must be yes or no/);
    bad('Host\n', /^cfg:1: Host needs at least one pattern/);
    bad('User "joe\n', /^cfg:1: unterminated quote/);
    bad('Port\n', /^cfg:1: Port needs a value/);
    bad('Port: 22\n', /^cfg:1: expected "Keyword value"/);
  });
});
