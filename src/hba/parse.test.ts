// pg_hba.conf parsing: what a good line becomes, and the golden bad files in
// test/fixtures/hba/bad/ whose every problem (file:line, code, message) is listed in expected.json.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { diskFiles } from '../config/file-source.js';
import { ConfigError } from '../errors.js';
import { parseIdent } from './ident.js';
import { parseHba } from './parse.js';
import { HbaConfigError } from './problems.js';
import type { HbaRule } from './types.js';

const badDir = fileURLToPath(new URL('../../test/fixtures/hba/bad/', import.meta.url));

function one(line: string): HbaRule {
  const { rules } = parseHba(`${line}\n`, 'pg_hba.conf');
  assert.equal(rules.length, 1);
  return rules[0] as HbaRule;
}

function problemsOf(fn: () => unknown): HbaConfigError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof HbaConfigError, `unexpected ${String(error)}`);
    return error;
  }
  assert.fail('no error was thrown');
}

describe('good lines', () => {
  test('a local line has no address; names keep their quoting', () => {
    const rule = one('local "all" all trust');
    assert.equal(rule.connectionType, 'local');
    assert.equal(rule.address, undefined);
    assert.deepEqual(rule.databases, [{ text: 'all', quoted: true }]);
    assert.deepEqual(rule.users, [{ text: 'all', quoted: false }]);
    assert.equal(rule.method, 'trust');
    assert.equal(rule.clientCert, 'off');
    assert.equal(rule.clientName, 'CN');
    assert.equal(rule.map, undefined);
    assert.equal(rule.file, 'pg_hba.conf');
    assert.equal(rule.line, 1);
    assert.equal(rule.rawLine, 'local "all" all trust');
  });

  test('CIDR and separate-mask addresses become network and mask bytes', () => {
    const cidr = one('host all all 10.1.2.3/12 md5').address;
    assert.ok(cidr?.kind === 'range');
    assert.deepEqual([...cidr.network.bytes], [10, 1, 2, 3]);
    assert.deepEqual([...cidr.mask], [255, 240, 0, 0]);
    assert.equal(cidr.text, '10.1.2.3/12');
    const masked = one('host all all 2001:db8:: ffff:ffff:: md5').address;
    assert.ok(masked?.kind === 'range');
    assert.equal(masked.network.family, 6);
    assert.deepEqual([...masked.mask.subarray(0, 5)], [255, 255, 255, 255, 0]);
    assert.equal(masked.text, '2001:db8:: ffff:ffff::');
  });

  test('all, samehost and samenet are keywords only when unquoted', () => {
    assert.deepEqual(one('host all all all trust').address, { kind: 'all' });
    assert.deepEqual(one('host all all samehost trust').address, { kind: 'samehost' });
    assert.deepEqual(one('host all all samenet trust').address, { kind: 'samenet' });
    const error = problemsOf(() => parseHba('host all all "samenet" trust', 'h'));
    assert.equal(error.code, 'ERR_HBA_UNSUPPORTED');
  });

  test('cert implies clientcert=verify-full; clientname and map are kept', () => {
    const rule = one('hostssl all all all cert clientname=DN map=certs');
    assert.equal(rule.clientCert, 'verify-full');
    assert.equal(rule.clientName, 'DN');
    assert.equal(rule.map, 'certs');
  });

  test('options may be a comma list and repeat (the last one wins, as in PostgreSQL)', () => {
    const rule = one('hostssl all all all md5 clientcert=verify-ca,clientcert=verify-full');
    assert.equal(rule.clientCert, 'verify-full');
  });

  test('an option value may contain "="', () => {
    assert.equal(one('hostssl all all all cert map=a=b').map, 'a=b');
  });

  test('connection types and methods are recognised even when quoted, like PostgreSQL', () => {
    const rule = one('"hostnossl" all all all "scram-sha-256"');
    assert.equal(rule.connectionType, 'hostnossl');
    assert.equal(rule.method, 'scram-sha-256');
  });

  test('/regex tokens are compiled, quoted or not; keywords are not', () => {
    const rule = one('host /^a,"/^b","/c",all all all trust');
    assert.deepEqual(
      rule.databases.map((t) => [t.text, t.regex?.source]),
      [
        ['/^a', '^a'],
        ['/^b', '^b'],
        ['/c', 'c'],
        ['all', undefined],
      ],
    );
  });

  test('hostgssenc lines load with a warning; hostnogssenc lines load silently', () => {
    const { rules, warnings } = parseHba(
      'hostgssenc all all all trust\nhostnogssenc all all all trust\n',
      'h.conf',
    );
    assert.equal(rules.length, 2);
    assert.deepEqual(warnings, [
      {
        location: 'h.conf:1',
        message: 'hostgssenc record cannot match because the gateway does not do GSSAPI encryption',
      },
    ]);
  });
});

describe('bad lines', () => {
  test('HbaConfigError is a ConfigError located at the first problem, listing all', () => {
    const error = problemsOf(() =>
      parseHba('local all all trust\nhost all\nlocal all all ldap\n', '/x/pg_hba.conf'),
    );
    assert.ok(error instanceof ConfigError);
    assert.equal(error.code, 'ERR_HBA_SYNTAX');
    assert.equal(error.location, '/x/pg_hba.conf:2');
    assert.equal(error.problems.length, 2);
    assert.equal(error.problems[1]?.code, 'ERR_HBA_UNSUPPORTED');
    assert.match(
      error.message,
      /^\/x\/pg_hba\.conf:2: end-of-line before role specification\n\/x\/pg_hba\.conf:3: authentication method "ldap" cannot be enforced by pgtunnel: /,
    );
  });

  test('a line with a problem makes the whole file fail, even when others are fine', () => {
    const error = problemsOf(() => parseHba('local all all trust\nlocal all all magic\n', 'h'));
    assert.deepEqual(
      error.problems.map((p) => p.location),
      ['h:2'],
    );
  });

  const expected = JSON.parse(readFileSync(join(badDir, 'expected.json'), 'utf8')) as Record<
    string,
    [string, string, string][]
  >;
  const strip = (text: string) => text.replaceAll(badDir, '');

  for (const [name, problems] of Object.entries(expected)) {
    test(`golden file bad/${name}: ${problems.length} problem(s), each with file:line`, () => {
      const path = join(badDir, name);
      const text = readFileSync(path, 'utf8');
      const parse = name.startsWith('ident')
        ? () => parseIdent(text, path, { reader: diskFiles })
        : () => parseHba(text, path, { reader: diskFiles });
      const error = problemsOf(parse);
      assert.deepEqual(
        error.problems.map((p) => [strip(p.location), p.code, strip(p.message)]),
        problems,
      );
    });
  }

  test('every line of bad/errors.conf after the first is reported', () => {
    const text = readFileSync(join(badDir, 'errors.conf'), 'utf8');
    const lines = text.split('\n');
    const reported = new Set(expected['errors.conf']?.map(([location]) => location));
    lines.forEach((line, i) => {
      const n = i + 1;
      // Line 1 is a comment, 2 the one good line, 55 the continuation of 54.
      if (line === '' || n <= 2 || n === 55) return;
      assert.ok(reported.has(`errors.conf:${n}`), `errors.conf:${n} not reported: ${line}`);
    });
  });
});
