// Address syntax: TCP, bracketed IPv6, bare ports, unix sockets and PostgreSQL socket dirs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../errors.js';
import { formatSocketAddress, parseSocketAddress, type SocketAddress } from './address.js';

describe('parseSocketAddress', () => {
  const cases: Array<[string, SocketAddress, string]> = [
    ['127.0.0.1:5433', { kind: 'tcp', host: '127.0.0.1', port: 5433 }, '127.0.0.1:5433'],
    ['localhost:6432', { kind: 'tcp', host: 'localhost', port: 6432 }, 'localhost:6432'],
    ['db.example.com', { kind: 'tcp', host: 'db.example.com', port: 5432 }, 'db.example.com:5432'],
    ['[::1]:5433', { kind: 'tcp', host: '::1', port: 5433 }, '[::1]:5433'],
    ['[::]', { kind: 'tcp', host: '::', port: 5432 }, '[::]:5432'],
    ['5433', { kind: 'tcp', host: '127.0.0.1', port: 5433 }, '127.0.0.1:5433'],
    [':5433', { kind: 'tcp', host: '127.0.0.1', port: 5433 }, '127.0.0.1:5433'],
    ['unix:/run/pg.sock', { kind: 'unix', path: '/run/pg.sock' }, '/run/pg.sock'],
    ['unix:@pgtunnel', { kind: 'unix', path: '\0pgtunnel' }, 'unix:@pgtunnel'],
    [
      '/run/pgtunnel',
      { kind: 'unix', path: '/run/pgtunnel/.s.PGSQL.5432', directory: '/run/pgtunnel', port: 5432 },
      '/run/pgtunnel/.s.PGSQL.5432',
    ],
    [
      '/run/pgtunnel/:5433',
      { kind: 'unix', path: '/run/pgtunnel/.s.PGSQL.5433', directory: '/run/pgtunnel', port: 5433 },
      '/run/pgtunnel/.s.PGSQL.5433',
    ],
  ];
  for (const [text, expected, shown] of cases) {
    it(`parses ${text}`, () => {
      const address = parseSocketAddress(text);
      assert.deepEqual(address, expected);
      assert.equal(formatSocketAddress(address), shown);
    });
  }
  it('uses the given defaults', () => {
    assert.deepEqual(parseSocketAddress('9000', { defaultHost: '0.0.0.0' }), {
      kind: 'tcp',
      host: '0.0.0.0',
      port: 9000,
    });
    assert.deepEqual(parseSocketAddress('/tmp', { defaultPort: 6000 }), {
      kind: 'unix',
      path: '/tmp/.s.PGSQL.6000',
      directory: '/tmp',
      port: 6000,
    });
    assert.equal(
      (parseSocketAddress('127.0.0.1:0', { allowPortZero: true }) as { port: number }).port,
      0,
    );
  });
  const bad: Array<[string, RegExp]> = [
    ['', /it is empty/],
    ['::1:5432', /write IPv6 addresses in brackets/],
    ['[::1', /missing "\]"/],
    ['[127.0.0.1]:5', /not an IPv6 address/],
    ['host:99999', /out of range/],
    ['host:0', /out of range/],
    ['host:abc', /"abc" is not a port number/],
    ['unix:', /socket path is empty/],
    ['010.1.1', /not an IPv4 address/],
    ['a b:5', /not a host name/],
  ];
  for (const [text, message] of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(
        () => parseSocketAddress(text),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.code === 'ERR_CONFIG_INVALID' &&
          message.test(error.message) &&
          error.message.startsWith(`invalid address "${text}"`),
      );
    });
  }
});
