// postgresql.conf syntax: spacing, optional '=', quoting and escapes, comments, includes, and
// errors with file:line.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../errors.js';
import { parseConf } from './conf-file.js';
import { type FileSource, filesInMemory } from './file-source.js';

function reader(files: Record<string, string>, dirs: Record<string, string[]> = {}): FileSource {
  return filesInMemory(files, dirs);
}

describe('parseConf', () => {
  it('reads names, values, quoting and comments like PostgreSQL', () => {
    const text = [
      '# comment',
      '  port = 5433   # trailing comment',
      "listen_addresses '*'",
      "ssl_ciphers='HIGH:!aNULL'",
      "upstream = 'host=db port=5432 options=''-c x=1'''",
      "ssl_passphrase_command = 'echo \\'pw\\''",
      'SSL = on',
      '',
    ].join('\n');
    const entries = parseConf(text, '/etc/p.conf', reader({}));
    assert.deepEqual(
      entries.map((e) => [e.name, e.value, e.line]),
      [
        ['port', '5433', 2],
        ['listen_addresses', '*', 3],
        ['ssl_ciphers', 'HIGH:!aNULL', 4],
        ['upstream', "host=db port=5432 options='-c x=1'", 5],
        ['ssl_passphrase_command', "echo 'pw'", 6],
        ['ssl', 'on', 7],
      ],
    );
  });

  it('follows include, include_if_exists and include_dir', () => {
    const files = {
      '/etc/main.conf':
        "port = 1\ninclude 'tls.conf'\ninclude_if_exists 'missing.conf'\ninclude_dir 'conf.d'\n",
      '/etc/tls.conf': 'ssl = off\n',
      '/etc/conf.d/10-a.conf': 'port = 2\n',
      '/etc/conf.d/20-b.conf': 'port = 3\n',
      '/etc/conf.d/.hidden.conf': 'port = 99\n',
    };
    const dirs = { '/etc/conf.d': ['20-b.conf', '10-a.conf', '.hidden.conf', 'notes.txt'] };
    const entries = parseConf(files['/etc/main.conf'], '/etc/main.conf', reader(files, dirs));
    assert.deepEqual(
      entries.map((e) => `${e.file}:${e.line} ${e.name}=${e.value}`),
      [
        '/etc/main.conf:1 port=1',
        '/etc/tls.conf:1 ssl=off',
        '/etc/conf.d/10-a.conf:1 port=2',
        '/etc/conf.d/20-b.conf:1 port=3',
      ],
    );
  });

  const bad: Array<[string, RegExp]> = [
    ["port = 'abc", /^\/x\.conf:1: unterminated quoted string$/],
    ['= 5', /^\/x\.conf:1: syntax error near "= 5"$/],
    ['port = 5 6', /^\/x\.conf:1: syntax error near "6"$/],
    ['port =', /^\/x\.conf:1: syntax error: a value is missing$/],
    ["include 'nope.conf'", /^\/x\.conf:1: could not open configuration file "\/nope\.conf"/],
  ];
  for (const [text, expected] of bad) {
    it(`refuses ${JSON.stringify(text)} with file:line`, () => {
      assert.throws(
        () => parseConf(text, '/x.conf', reader({})),
        (error: unknown) => error instanceof ConfigError && expected.test(error.message),
      );
    });
  }

  it('stops include loops', () => {
    const files = { '/a.conf': "include 'a.conf'\n" };
    assert.throws(
      () => parseConf(files['/a.conf'], '/a.conf', reader(files)),
      /maximum nesting depth exceeded/,
    );
  });
});
