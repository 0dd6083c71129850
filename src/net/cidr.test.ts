// CIDR lists for trusted networks: parsing (strict, with messages) and membership.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inAnyRange, parseCidr } from './cidr.js';

describe('CIDR ranges', () => {
  it('parses ranges and single addresses to a canonical text', () => {
    assert.equal(parseCidr('10.0.0.0/8').text, '10.0.0.0/8');
    assert.equal(parseCidr('127.0.0.2').text, '127.0.0.2/32');
    assert.equal(parseCidr('2001:0db8::/32').text, '2001:db8::/32');
    assert.equal(parseCidr('::1').text, '::1/128');
  });

  it('refuses what is not an address or has a bad mask', () => {
    assert.throws(() => parseCidr('balancer.internal'), /not an IP address or CIDR range/);
    assert.throws(() => parseCidr('010.1.1.1/8'), /not an IP address/);
    assert.throws(() => parseCidr('10.0.0.0/33'), /invalid mask length \(0\.\.32 for IPv4\)/);
    assert.throws(() => parseCidr('10.0.0.0/'), /invalid mask length/);
    assert.throws(() => parseCidr('fd00::/129'), /0\.\.128 for IPv6/);
  });

  const ranges = ['127.0.0.2/32', '10.1.0.0/16', 'fd00::/8'].map(parseCidr);
  const table: Array<[string | undefined, boolean]> = [
    ['127.0.0.2', true],
    ['127.0.0.1', false],
    ['::ffff:127.0.0.2', true],
    ['10.1.200.3', true],
    ['10.2.0.1', false],
    ['fd12::5', true],
    ['fe80::1', false],
    [undefined, false],
  ];
  for (const [address, expected] of table) {
    it(`${address ?? 'no address'} is ${expected ? '' : 'not '}trusted`, () => {
      assert.equal(inAnyRange(address, ranges), expected);
    });
  }
});
