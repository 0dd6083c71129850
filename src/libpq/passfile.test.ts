// libpq password-file matching: wildcards, escapes, the localhost rule for the default socket
// directory, first match wins.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type PassfileKey, passwordFromPassfile } from './passfile.js';

const KEY: PassfileKey = { host: 'db.example', port: 5432, database: 'postgres', user: 'auth' };
const SOCKET_DIR = '/var/run/postgresql';

function lookup(text: string, key: Partial<PassfileKey> = {}): string | undefined {
  return passwordFromPassfile(text, { ...KEY, ...key }, SOCKET_DIR);
}

describe('password file', () => {
  it('matches every field exactly, first match wins', () => {
    const text = [
      '# comment:line:that:looks:real',
      'db.example:5432:postgres:other:nope',
      'db.example:5433:postgres:auth:wrong-port',
      'db.example:5432:postgres:auth:first',
      'db.example:5432:postgres:auth:second',
    ].join('\n');
    assert.equal(lookup(text), 'first');
    assert.equal(lookup(text, { user: 'other' }), 'nope');
    assert.equal(lookup(text, { user: 'nobody' }), undefined);
    assert.equal(lookup(text, { host: 'db.example.org' }), undefined);
  });

  it('treats * as a wildcard for a whole field only', () => {
    assert.equal(lookup('*:*:*:auth:any'), 'any');
    assert.equal(lookup('db.*:5432:*:*:partial\n*:*:*:*:all'), 'all');
  });

  it('unescapes \\: and \\\\ in fields and the password, which ends at an unescaped colon', () => {
    assert.equal(lookup('db.example:5432:postgres:auth:pa\\:ss\\\\word'), 'pa:ss\\word');
    assert.equal(lookup('db.example:5432:postgres:auth:pass:ignored'), 'pass');
    assert.equal(lookup('db.example:5432:post\\:gres:auth:x', { database: 'post:gres' }), 'x');
  });

  it('matches localhost for an empty host and the default socket directory only', () => {
    const text = 'localhost:5432:postgres:auth:local\n/tmp/sock:5432:postgres:auth:dir';
    assert.equal(lookup(text, { host: '' }), 'local');
    assert.equal(lookup(text, { host: SOCKET_DIR }), 'local');
    assert.equal(lookup(text, { host: '/tmp/sock' }), 'dir');
    assert.equal(lookup(text, { host: '/elsewhere' }), undefined);
  });

  it('accepts CRLF line ends and skips blank lines', () => {
    assert.equal(lookup('\r\n\ndb.example:5432:postgres:auth:crlf\r\n'), 'crlf');
  });
});
