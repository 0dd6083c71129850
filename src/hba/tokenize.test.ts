// Tokenizer behaviour that PostgreSQL documents or implements in tokenize_auth_file() and
// next_token(): quoting, comma lists, comments, continuations, @file and include directives.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DirEntry, FileSource } from '../config/file-source.js';
import { type TokenizeWarning, tokenizeAuthFile } from './tokenize.js';

/** Fields as arrays of strings; quoted tokens are shown wrapped in «». */
function fields(text: string, reader?: FileSource): string[][][] {
  return tokenizeAuthFile(text, '/etc/pg/pg_hba.conf', { reader }).map((line) =>
    line.fields.map((field) => field.map((t) => (t.quoted ? `«${t.text}»` : t.text))),
  );
}

function memoryReader(
  files: Record<string, string>,
  dirs: Record<string, DirEntry[]> = {},
): FileSource {
  const fail = (code: string, path: string) =>
    Object.assign(new Error(`${code}: ${path}`), { code });
  return {
    readFile(path) {
      const text = files[path];
      if (text === undefined) throw fail(dirs[path] ? 'EISDIR' : 'ENOENT', path);
      return text;
    },
    listDir(path) {
      const entries = dirs[path];
      if (!entries) throw fail('ENOENT', path);
      return entries;
    },
  };
}

describe('tokens', () => {
  test('blanks are spaces, tabs and carriage returns; blank and comment lines vanish', () => {
    assert.deepEqual(fields('\n  \t\n# comment\nlocal\tall \r all  trust\r\n'), [
      [['local'], ['all'], ['all'], ['trust']],
    ]);
  });

  test('double quotes keep blanks, commas and # inside one token; "" is a literal quote', () => {
    assert.deepEqual(fields('host "my db" "a,b" "x#y" "say ""hi"""'), [
      [['host'], ['«my db»'], ['«a,b»'], ['«x#y»'], ['«say "hi"»']],
    ]);
  });

  test('only an opening quote marks a token quoted, as in PostgreSQL', () => {
    assert.deepEqual(fields('al"l" "all" a"b c"d ""'), [[['all'], ['«all»'], ['ab cd'], ['«»']]]);
  });

  test('an unterminated quote runs to the end of the line', () => {
    assert.deepEqual(fields('host "open ended # not a comment'), [
      [['host'], ['«open ended # not a comment»']],
    ]);
  });

  test('a comma joins tokens into one field, even with blanks after it', () => {
    assert.deepEqual(fields('host a,b, c,,d e'), [[['host'], ['a', 'b', 'c', 'd'], ['e']]]);
  });

  test('a blank before a comma ends the field: "a ,b" is two fields', () => {
    assert.deepEqual(fields('host a ,b'), [[['host'], ['a'], ['b']]]);
  });

  test('a trailing comma is dropped', () => {
    assert.deepEqual(fields('host a,'), [[['host'], ['a']]]);
  });

  test('# starts a comment anywhere outside quotes, even inside a word', () => {
    assert.deepEqual(fields('host a#comment b\nhost "a#b"#c'), [
      [['host'], ['a']],
      [['host'], ['«a#b»']],
    ]);
  });
});

describe('lines and continuations', () => {
  test('line numbers count physical lines; a continued line has its first line number', () => {
    const lines = tokenizeAuthFile('# c\nhost a \\\n  b\\\nc\n\nlocal x\n', 'f.conf');
    assert.deepEqual(
      lines.map((l) => [l.line, l.rawLine]),
      [
        [2, 'host a   bc'],
        [6, 'local x'],
      ],
    );
    assert.deepEqual(
      lines[0]?.fields.map((f) => f.map((t) => t.text)),
      [['host'], ['a'], ['bc']],
    );
  });

  test('CRLF line ends are stripped before looking for the backslash', () => {
    const lines = tokenizeAuthFile('host a \\\r\n b\r\nlocal c\r\n', 'f.conf');
    assert.deepEqual(
      lines.map((l) => [l.line, l.rawLine]),
      [
        [1, 'host a  b'],
        [3, 'local c'],
      ],
    );
  });

  test('a continuation inside a comment continues the comment', () => {
    assert.deepEqual(fields('local all all trust # note \\\nhost all all all trust'), [
      [['local'], ['all'], ['all'], ['trust']],
    ]);
  });

  test('a continuation inside quotes continues the quoted token', () => {
    assert.deepEqual(fields('host "a \\\nb" c'), [[['host'], ['«a b»'], ['c']]]);
  });

  test('an empty line after a continuation ends the logical line', () => {
    const lines = tokenizeAuthFile('host a\\\n\nlocal b', 'f.conf');
    assert.deepEqual(
      lines.map((l) => [l.line, l.rawLine]),
      [
        [1, 'host a'],
        [3, 'local b'],
      ],
    );
  });

  test('a continuation on the last line just ends the file', () => {
    assert.deepEqual(fields('host a\\'), [[['host'], ['a']]]);
  });
});

describe('@file lists', () => {
  const reader = memoryReader({
    '/etc/pg/users': 'alice, bob\n# comment\n"carol x" @sub/more\n',
    '/etc/pg/sub/more': 'dave\n@deeper\n',
    '/etc/pg/sub/deeper': 'erin',
    '/etc/pg/with space': 'frank',
    '/abs/list': 'grace',
  });

  test('@file expands to every token of the file, nested files relative to their includer', () => {
    assert.deepEqual(fields('host app,@users,zed x', reader), [
      [['host'], ['app', 'alice', 'bob', '«carol x»', 'dave', 'erin', 'zed'], ['x']],
    ]);
  });

  test('absolute @paths are taken as they are; @"…" allows blanks in the path', () => {
    assert.deepEqual(fields('host @/abs/list @"with space"', reader), [
      [['host'], ['grace'], ['frank']],
    ]);
  });

  test('"@file" quoted and a lone @ are plain names', () => {
    assert.deepEqual(fields('host "@users" @', reader), [[['host'], ['«@users»'], ['@']]]);
  });

  test('a missing @file marks the line with the reason', () => {
    const [line] = tokenizeAuthFile('host @nope x', '/etc/pg/pg_hba.conf', { reader });
    assert.equal(line?.error, 'could not open file "/etc/pg/nope": No such file or directory');
    assert.equal(line?.line, 1);
  });

  test('without a reader, @file is an error on its line', () => {
    const [line] = tokenizeAuthFile('host @users x', '/etc/pg/pg_hba.conf');
    assert.equal(
      line?.error,
      'could not open file "/etc/pg/users": included files cannot be read here',
    );
  });
});

describe('include directives', () => {
  const reader = memoryReader(
    {
      '/etc/pg/a.conf': 'local a1\n\nlocal a3\ninclude sub/b.conf\n',
      '/etc/pg/sub/b.conf': 'local b1\n',
      '/etc/pg/d/B.conf': 'local dB\n',
      '/etc/pg/d/a.conf': 'local da\n',
      '/etc/pg/self.conf': 'include self.conf\n',
    },
    {
      '/etc/pg/d': [
        { name: 'a.conf', isDirectory: false },
        { name: 'B.conf', isDirectory: false },
        { name: '.hidden.conf', isDirectory: false },
        { name: '.conf', isDirectory: false },
        { name: 'readme', isDirectory: false },
        { name: 'dir.conf', isDirectory: true },
      ],
      '/etc/pg/empty': [],
    },
  );
  const locations = (text: string, warnings?: TokenizeWarning[]) =>
    tokenizeAuthFile(text, '/etc/pg/pg_hba.conf', { reader, warnings }).map(
      (l) => l.error ?? `${l.file}:${l.line} ${l.fields.map((f) => f[0]?.text).join(' ')}`,
    );

  test('include puts the file lines in place, each keeping its own file and line', () => {
    assert.deepEqual(locations('local top\ninclude a.conf\nlocal end'), [
      '/etc/pg/pg_hba.conf:1 local top',
      '/etc/pg/a.conf:1 local a1',
      '/etc/pg/a.conf:3 local a3',
      '/etc/pg/sub/b.conf:1 local b1',
      '/etc/pg/pg_hba.conf:3 local end',
    ]);
  });

  test('the directive word is recognised quoted too, like PostgreSQL', () => {
    assert.deepEqual(locations('"include" sub/b.conf'), ['/etc/pg/sub/b.conf:1 local b1']);
  });

  test('a line with another number of fields is not a directive', () => {
    assert.deepEqual(locations('include a.conf extra'), [
      '/etc/pg/pg_hba.conf:1 include a.conf extra',
    ]);
  });

  test('include_dir reads *.conf files in byte order, skipping hidden files and directories', () => {
    assert.deepEqual(locations('include_dir d\ninclude_dir empty'), [
      '/etc/pg/d/B.conf:1 local dB',
      '/etc/pg/d/a.conf:1 local da',
    ]);
  });

  test('include_if_exists skips a missing file with a warning; include fails', () => {
    const warnings: TokenizeWarning[] = [];
    assert.deepEqual(locations('include_if_exists nope.conf\ninclude nope.conf', warnings), [
      'could not open file "/etc/pg/nope.conf": No such file or directory',
    ]);
    assert.deepEqual(warnings, [
      {
        location: '/etc/pg/pg_hba.conf:1',
        message: 'skipping missing authentication file "/etc/pg/nope.conf"',
      },
    ]);
  });

  test('include_if_exists still fails for a file that exists but cannot be read', () => {
    assert.deepEqual(locations('include_if_exists d'), [
      'could not open file "/etc/pg/d": Is a directory',
    ]);
  });

  test('include_dir of a missing or blank directory name fails', () => {
    assert.deepEqual(locations('include_dir nodir\ninclude_dir " "'), [
      'could not open directory "/etc/pg/nodir"',
      'empty configuration directory name',
    ]);
  });

  test('an include loop stops at the nesting limit on the line that went too deep', () => {
    const lines = tokenizeAuthFile('include self.conf', '/etc/pg/pg_hba.conf', { reader });
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.file, '/etc/pg/self.conf');
    assert.equal(
      lines[0]?.error,
      'could not open file "/etc/pg/self.conf": maximum nesting depth exceeded',
    );
  });
});
