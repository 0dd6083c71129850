// Translation of PostgreSQL regular-expression forms that JavaScript reads differently.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileAuthRegex, compileNameToken } from './regex.js';

describe('compileAuthRegex', () => {
  test('searches anywhere in the subject unless anchored', () => {
    assert.equal(compileAuthRegex('ab').test('xaby'), true);
    assert.equal(compileAuthRegex('^ab$').test('xaby'), false);
  });

  test('POSIX classes are translated, inside brackets as PostgreSQL means them', () => {
    const re = compileAuthRegex('^[[:alpha:]_][[:alnum:]_]*$');
    assert.equal(re.test('shard_1'), true);
    assert.equal(re.test('1shard'), false);
    assert.equal(re.test(':'), false);
    assert.equal(compileAuthRegex('^[[:digit:][:upper:]]+$').test('A1B2'), true);
    assert.throws(() => compileAuthRegex('[[:nope:]]'), /unknown character class "\[:nope:\]"/);
  });

  test('\\A and \\Z anchor the whole string; an escaped backslash before them is literal', () => {
    assert.equal(compileAuthRegex('\\Aab\\Z').test('ab'), true);
    assert.equal(compileAuthRegex('\\Aab\\Z').test('xab'), false);
    assert.equal(compileAuthRegex('\\\\A').test('\\A'), true);
  });

  test('a leading (?i) makes the match case-insensitive', () => {
    assert.equal(compileAuthRegex('(?i)^alice$').test('ALICE'), true);
  });

  test('forms JavaScript would misread are refused', () => {
    assert.throws(() => compileAuthRegex('***=a.b'), /directors are not supported/);
    assert.throws(() => compileAuthRegex('(?x)a b'), /embedded options "\(\?x\)"/);
    assert.throws(() => compileAuthRegex('[[.hyphen.]]'), /collating elements/);
    assert.throws(() => compileAuthRegex('\\mword\\M'), /Invalid escape/);
    assert.throws(() => compileAuthRegex('a{2'), /Incomplete quantifier|Lone quantifier/);
  });
});

describe('compileNameToken', () => {
  test('only tokens starting with / are compiled; errors use PostgreSQL wording', () => {
    assert.deepEqual(compileNameToken({ text: 'app', quoted: false }), {
      text: 'app',
      quoted: false,
    });
    const compiled = compileNameToken({ text: '/^a', quoted: true });
    assert.ok(typeof compiled !== 'string' && compiled.regex?.source === '^a');
    assert.equal(
      compileNameToken({ text: '/(', quoted: false }),
      'invalid regular expression "(": Unterminated group',
    );
  });
});
