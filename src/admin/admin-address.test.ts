// admin_listen is checked before anything binds: loopback and unix sockets pass, anything else
// needs admin_listen_unsafe, and the error names where the value came from and the way out.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../config/load.js';
import { ConfigError } from '../errors.js';
import { adminListenAddress, isLoopbackHost } from './admin-address.js';

const config = (value: string, unsafe = 'off') =>
  loadConfig({
    overrides: [
      { name: 'admin_listen', value, origin: '--admin-listen' },
      { name: 'admin_listen_unsafe', value: unsafe, origin: '--admin-listen-unsafe' },
    ],
  });

describe('isLoopbackHost', () => {
  const cases: Array<[string, boolean]> = [
    ['localhost', true],
    ['LOCALHOST', true],
    ['127.0.0.1', true],
    ['127.255.3.4', true],
    ['::1', true],
    ['0:0:0:0:0:0:0:1', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.1', false],
    ['128.0.0.1', false],
    ['::2', false],
    ['::ffff:10.0.0.1', false],
    ['localhost.example.com', false],
    ['db.internal', false],
  ];
  for (const [host, expected] of cases) {
    it(`${host} → ${expected}`, () => assert.equal(isLoopbackHost(host), expected));
  }
});

describe('adminListenAddress', () => {
  it('is off when empty', () => {
    assert.equal(adminListenAddress(config('')), undefined);
  });

  it('accepts loopback addresses, a bare port and a unix socket', () => {
    assert.deepEqual(adminListenAddress(config('127.0.0.1:9187')), {
      kind: 'tcp',
      host: '127.0.0.1',
      port: 9187,
    });
    assert.deepEqual(adminListenAddress(config('[::1]:9000')), {
      kind: 'tcp',
      host: '::1',
      port: 9000,
    });
    assert.deepEqual(adminListenAddress(config('9300')), {
      kind: 'tcp',
      host: '127.0.0.1',
      port: 9300,
    });
    assert.deepEqual(adminListenAddress(config('localhost')), {
      kind: 'tcp',
      host: 'localhost',
      port: 9187,
    });
    assert.deepEqual(adminListenAddress(config('unix:/run/pgtunnel/admin.sock')), {
      kind: 'unix',
      path: '/run/pgtunnel/admin.sock',
    });
  });

  it('refuses a non-loopback address, naming the flag and admin_listen_unsafe', () => {
    for (const value of ['0.0.0.0:9187', '[::]:9187', '10.1.2.3:9187', 'db.internal:9187']) {
      assert.throws(
        () => adminListenAddress(config(value)),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.code === 'ERR_CONFIG_INVALID' &&
          error.message.startsWith(
            `--admin-listen: admin_listen = '${value}' is not a loopback address`,
          ) &&
          error.message.includes('admin_listen_unsafe = on'),
        value,
      );
    }
  });

  it('allows a non-loopback address with admin_listen_unsafe', () => {
    assert.deepEqual(adminListenAddress(config('0.0.0.0:9187', 'on')), {
      kind: 'tcp',
      host: '0.0.0.0',
      port: 9187,
    });
  });

  it('refuses malformed addresses and socket directories', () => {
    assert.throws(
      () => adminListenAddress(config('127.0.0.1:99999')),
      /admin_listen: invalid address "127.0.0.1:99999": port 99999 is out of range/,
    );
    assert.throws(
      () => adminListenAddress(config('/run/pgtunnel')),
      /give a socket file as unix:\/path/,
    );
  });
});
