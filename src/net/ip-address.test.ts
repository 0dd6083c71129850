// IP parsing, masks and range checks used by pg_hba.conf matching.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cidrMask, clientAddress, formatIp, inRange, parseIp } from './ip-address.js';

const ip = (text: string) => {
  const parsed = parseIp(text);
  assert.ok(parsed, `${text} should parse`);
  return parsed;
};

describe('parseIp', () => {
  test('IPv4 and IPv6 forms become bytes', () => {
    assert.deepEqual([...ip('10.1.2.255').bytes], [10, 1, 2, 255]);
    assert.deepEqual([...ip('::').bytes], new Array(16).fill(0));
    assert.deepEqual([...ip('::1').bytes], [...new Array(15).fill(0), 1]);
    assert.deepEqual(
      [...ip('2001:db8::8:800:200c:417a').bytes],
      [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0x08, 0x08, 0, 0x20, 0x0c, 0x41, 0x7a],
    );
    assert.deepEqual([...ip('1::').bytes], [0, 1, ...new Array(14).fill(0)]);
    assert.deepEqual([...ip('::ffff:1.2.3.4').bytes.subarray(10)], [0xff, 0xff, 1, 2, 3, 4]);
    assert.equal(ip('1:2:3:4:5:6:7:8').family, 6);
  });

  test('lenient and ambiguous forms are refused', () => {
    for (const text of [
      '10.1',
      '010.1.1.1',
      '256.1.1.1',
      'fe80::1%eth0',
      '[::1]',
      ' 1.2.3.4',
      'a.b',
      '',
    ]) {
      assert.equal(parseIp(text), undefined, text);
    }
  });
});

describe('masks and ranges', () => {
  test('cidrMask builds leading ones and refuses out-of-range lengths', () => {
    assert.deepEqual([...(cidrMask(0, 4) ?? [])], [0, 0, 0, 0]);
    assert.deepEqual([...(cidrMask(17, 4) ?? [])], [255, 255, 128, 0]);
    assert.deepEqual([...(cidrMask(32, 4) ?? [])], [255, 255, 255, 255]);
    assert.equal(cidrMask(33, 4), undefined);
    assert.equal(cidrMask(129, 6), undefined);
    assert.equal(cidrMask(-1, 6), undefined);
    assert.deepEqual([...(cidrMask(65, 6) ?? [])].slice(7, 10), [255, 128, 0]);
  });

  test('inRange compares only the masked bits, and never across families', () => {
    const mask = cidrMask(16, 4) as Uint8Array;
    assert.equal(inRange(ip('10.1.200.3'), ip('10.1.0.0'), mask), true);
    assert.equal(inRange(ip('10.2.0.0'), ip('10.1.0.0'), mask), false);
    assert.equal(inRange(ip('10.1.0.0'), ip('10.1.9.9'), mask), true);
    assert.equal(inRange(ip('::ffff:10.1.0.1'), ip('10.1.0.0'), mask), false);
    const sparse = ip('255.0.255.0').bytes;
    assert.equal(inRange(ip('10.9.3.7'), ip('10.0.3.0'), sparse), true);
    assert.equal(inRange(ip('10.9.4.7'), ip('10.0.3.0'), sparse), false);
  });
});

describe('client addresses', () => {
  test('IPv4-mapped IPv6 becomes IPv4; other IPv6 stays', () => {
    assert.deepEqual(clientAddress('::ffff:192.0.2.1'), ip('192.0.2.1'));
    assert.deepEqual(clientAddress('::ffff:c000:201'), ip('192.0.2.1'));
    assert.equal(clientAddress('::fffe:192.0.2.1')?.family, 6);
    assert.equal(clientAddress('64:ff9b::192.0.2.1')?.family, 6);
    assert.equal(clientAddress('nonsense'), undefined);
  });

  test('formatIp prints compressed IPv6 like getnameinfo()', () => {
    assert.equal(formatIp(ip('2001:0db8:0000:0000:0001:0000:0000:0001')), '2001:db8::1:0:0:1');
    assert.equal(formatIp(ip('::')), '::');
    assert.equal(formatIp(ip('::1')), '::1');
    assert.equal(formatIp(ip('fe80:0:0:0:0:0:0:0')), 'fe80::');
    assert.equal(formatIp(ip('1:0:2:3:4:5:6:7')), '1:0:2:3:4:5:6:7');
    assert.equal(formatIp(ip('10.0.0.1')), '10.0.0.1');
  });
});
