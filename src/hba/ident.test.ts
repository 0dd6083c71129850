// pg_ident.conf maps: test/fixtures/hba/pg_ident.conf against a table of certificate names and
// PostgreSQL users, with the LOG lines PostgreSQL writes when a map refuses.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { diskFiles } from '../config/file-source.js';
import { checkUsermap, identMapAllows, identMapNames, parseIdent } from './ident.js';
import type { HbaWarning } from './problems.js';

const fixtures = fileURLToPath(new URL('../../test/fixtures/hba/', import.meta.url));
const identPath = join(fixtures, 'pg_ident.conf');
const maps = parseIdent(readFileSync(identPath, 'utf8'), identPath, { reader: diskFiles });

describe('pg_ident.conf fixture', () => {
  test('lines keep file and line, including the included file', () => {
    assert.deepEqual(
      maps.lines.map((l) => `${l.file.replace(fixtures, '')}:${l.line} ${l.mapName}`),
      [
        'pg_ident.conf:2 certs',
        'pg_ident.conf:3 certs',
        'pg_ident.conf:4 certs',
        'pg_ident.conf:5 certs',
        'pg_ident.conf:6 certs',
        'pg_ident.conf:7 certs',
        'pg_ident.conf:8 certs',
        'pg_ident.conf:9 certs',
        'pg_ident.conf:10 other',
        'ident-extra.conf:2 other',
      ],
    );
    assert.deepEqual([...identMapNames(maps)], ['certs', 'other']);
  });

  // [map, system user (certificate name), PostgreSQL user, allowed]
  const table: [string, string, string, boolean][] = [
    ['certs', 'alice@example.com', 'alice', true], // regex with \1
    ['certs', 'alice@example.com', 'bob', false],
    ['certs', 'alice@example.org', 'alice', false],
    ['certs', 'x.alice@example.com', 'x.alice', true],
    ['certs', 'root', 'anyone', true], // unquoted all
    ['certs', 'Root', 'anyone', false], // case-sensitive
    ['certs', 'Alice Smith', 'alice', true], // quoted system name with a blank
    ['certs', 'svc-api', 'svc_api', true], // regex on both sides
    ['certs', 'svc-api', 'api', false],
    ['certs', 'bob', 'all', true], // quoted "all" is only a user named all
    ['certs', 'bob', 'carol', false],
    ['certs', 'xyz', 'pre_y_post', true], // only the first \1 of the target is replaced
    ['certs', 'ops', 'operator', true], // @file in the system-user field
    ['other', 'bob', 'robert', true],
    ['other', 'alice@example.com', 'alice', false], // lines of other maps do not count
    ['other', 'CN=Carol,O=Example', 'Carol', true], // quoted regex with commas, included file
    ['nosuch', 'bob', 'bob', false],
  ];
  for (const [map, system, pg, allowed] of table) {
    test(`map ${map}: "${system}" as ${pg} → ${allowed ? 'allowed' : 'refused'}`, () => {
      assert.equal(identMapAllows(maps, map, system, pg), allowed);
    });
  }

  test('a refusal logs PostgreSQL\'s "no match in usermap" line', () => {
    assert.deepEqual(checkUsermap(maps, 'certs', 'bob', 'mallory'), {
      ok: false,
      log: ['no match in usermap "certs" for user "bob" authenticated as "mallory"'],
    });
  });

  test('\\1 with a group that did not take part ends the search with an error', () => {
    // "xz" matches /^x(y)?z but group 1 is unset; the later /^nogroup line is not reached.
    assert.deepEqual(checkUsermap(maps, 'certs', 'pre__post', 'xz'), {
      ok: false,
      log: [
        'regular expression "^x(y)?z" has no subexpressions as requested by backreference in "pre_\\1_post"',
      ],
    });
    assert.deepEqual(checkUsermap(maps, 'certs', 'nogroup', 'nogroup').log, [
      'regular expression "^nogroup" has no subexpressions as requested by backreference in "\\1"',
    ]);
  });

  test('a substituted name is compared literally: "\\1" expanding to "all" is not the keyword', () => {
    const m = parseIdent('m /^(.*)$ \\1\n', 'ident.conf');
    assert.equal(identMapAllows(m, 'm', 'all', 'bob'), false);
    assert.equal(identMapAllows(m, 'm', 'all', 'all'), true);
  });
});

describe('without a map', () => {
  test('the certificate name must equal the user, and PostgreSQL logs the mismatch', () => {
    assert.deepEqual(checkUsermap(undefined, undefined, 'alice', 'alice'), { ok: true, log: [] });
    assert.deepEqual(checkUsermap(undefined, undefined, 'alice', 'bob'), {
      ok: false,
      log: ['provided user name (alice) and authenticated user name (bob) do not match'],
    });
  });
});

describe('parsing', () => {
  test('an empty file is valid and maps nothing', () => {
    assert.deepEqual(parseIdent('# nothing\n', 'i.conf').lines, []);
  });

  test('extra fields are ignored like PostgreSQL does, with a warning', () => {
    const warnings: HbaWarning[] = [];
    const m = parseIdent('m a b c\n', 'i.conf', { warnings });
    assert.equal(m.lines.length, 1);
    assert.deepEqual(warnings, [
      { location: 'i.conf:1', message: 'extra fields after PG-USERNAME are ignored' },
    ]);
  });

  test('a quoted "+name" is a plain user name, not a group', () => {
    const m = parseIdent('m sys "+admins"\n', 'i.conf');
    assert.equal(identMapAllows(m, 'm', 'sys', '+admins'), true);
  });

  test('regexes search unanchored, as pg_regexec does', () => {
    const m = parseIdent('m /ali pg\n', 'i.conf');
    assert.equal(identMapAllows(m, 'm', 'xalix', 'pg'), true);
    assert.equal(identMapAllows(m, 'm', 'bob', 'pg'), false);
  });
});
