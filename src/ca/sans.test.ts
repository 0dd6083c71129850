// SAN and serial parsing: the forms users type, and the ones that must be refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PgTunnelError } from '../errors.js';
import { isDnsName, parseSans, serverSans } from './sans.js';
import { newSerial, normalizeSerial } from './serial.js';

describe('parseSans', () => {
  it('accepts prefixed, bare, comma-separated and IPv6 forms, without duplicates', () => {
    assert.deepEqual(parseSans(['DNS:DB.Example.com', 'ip:10.0.0.5,::1', 'db', '10.0.0.5']), [
      { type: 'dns', value: 'db.example.com' },
      { type: 'ip', value: '10.0.0.5' },
      { type: 'ip', value: '::1' },
      { type: 'dns', value: 'db' },
    ]);
  });

  it('refuses addresses net.isIP rejects and malformed names', () => {
    for (const bad of ['IP:010.1.1.1', 'IP:10.1', 'DNS:a..b', 'DNS:-db', 'db.*.example', 'a b']) {
      assert.throws(
        () => parseSans([bad]),
        (error: unknown) => error instanceof PgTunnelError && error.code === 'ERR_USAGE',
        bad,
      );
    }
  });

  it('allows a wildcard only as the first label', () => {
    assert.equal(isDnsName('*.db.example.com'), true);
    assert.equal(isDnsName('db.*.example.com'), false);
  });
});

describe('serverSans', () => {
  it('puts the CN first unless it is already listed', () => {
    assert.deepEqual(serverSans('db.example.com', ['IP:10.0.0.5'], true), [
      { type: 'dns', value: 'db.example.com' },
      { type: 'ip', value: '10.0.0.5' },
    ]);
    assert.deepEqual(serverSans('127.0.0.1', ['IP:127.0.0.1'], true), [
      { type: 'ip', value: '127.0.0.1' },
    ]);
    assert.deepEqual(serverSans('localhost', ['DNS:other'], false), [
      { type: 'dns', value: 'other' },
    ]);
  });

  it('refuses a CN that cannot be a host name', () => {
    assert.throws(
      () => serverSans('My Database', [], true),
      /must be the host name clients connect to/,
    );
  });
});

describe('serials', () => {
  it('are 16 bytes, positive, with no leading zero byte, and avoid taken values', () => {
    const taken = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const serial = newSerial((s) => taken.has(s));
      assert.match(serial, /^[4-7][0-9a-f]{31}$/);
      assert.equal(taken.has(serial), false);
      taken.add(serial);
    }
    assert.throws(() => newSerial(() => true), /could not draw an unused certificate serial/);
  });

  it('normalize the spellings users paste', () => {
    assert.equal(normalizeSerial('0A:1B:2c'), 'a1b2c');
    assert.equal(normalizeSerial('0x00ff'), 'ff');
    assert.equal(normalizeSerial('0'), '0');
    assert.throws(() => normalizeSerial('xyz'), /not a hexadecimal serial/);
  });
});
