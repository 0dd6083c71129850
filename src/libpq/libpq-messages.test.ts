// The per-address prefix of libpq's connection errors, as psql 15 and 18 print it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serverPrefix } from './libpq-messages.js';

describe('serverPrefix', () => {
  const tcp = (host: string) => ({ kind: 'tcp' as const, host, port: 5432 });

  it('shows host, and the address it resolved to when they differ', () => {
    assert.equal(
      serverPrefix(tcp('127.0.0.1'), { host: 'localhost', hostaddrGiven: false }),
      'connection to server at "localhost" (127.0.0.1), port 5432 failed: ',
    );
    assert.equal(
      serverPrefix(tcp('127.0.0.1'), { host: '127.0.0.1', hostaddrGiven: false }),
      'connection to server at "127.0.0.1", port 5432 failed: ',
    );
  });
  it('shows hostaddr alone when it was given, whatever host says', () => {
    // psql "host=db.wrong.example hostaddr=127.0.0.1 sslmode=verify-full …" prints this
    assert.equal(
      serverPrefix(tcp('127.0.0.1'), { host: 'db.wrong.example', hostaddrGiven: true }),
      'connection to server at "127.0.0.1", port 5432 failed: ',
    );
    assert.equal(
      serverPrefix(tcp('::1'), { host: '', hostaddrGiven: true }),
      'connection to server at "::1", port 5432 failed: ',
    );
  });
  it('names the socket file for unix sockets, @ for abstract ones', () => {
    assert.equal(
      serverPrefix(
        { kind: 'unix', path: '/tmp/.s.PGSQL.5432' },
        { host: '/tmp', hostaddrGiven: false },
      ),
      'connection to server on socket "/tmp/.s.PGSQL.5432" failed: ',
    );
    assert.equal(
      serverPrefix(
        { kind: 'unix', path: '\0pg/.s.PGSQL.5432' },
        { host: '@pg', hostaddrGiven: false },
      ),
      'connection to server on socket "@pg/.s.PGSQL.5432" failed: ',
    );
  });
});
