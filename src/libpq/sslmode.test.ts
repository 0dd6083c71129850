// The sslmode table against libpq's documented behaviour, and the root-certificate decision.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseRootCert, ROOT_CERT_HINT, SSL_MODES, SSLMODE_RULES } from './sslmode.js';
import { UpstreamError } from './upstream-error.js';

describe('SSLMODE_RULES', () => {
  // mode: first attempt, fallback, on 'N', chain, hostname
  const expected = {
    disable: ['plaintext', undefined, 'fail', 'never', false],
    allow: ['plaintext', 'tls', 'fail', 'if-root-cert', false],
    prefer: ['tls', 'plaintext', 'continue-plaintext', 'if-root-cert', false],
    require: ['tls', undefined, 'fail', 'if-root-cert', false],
    'verify-ca': ['tls', undefined, 'fail', 'always', false],
    'verify-full': ['tls', undefined, 'fail', 'always', true],
  } as const;
  for (const mode of SSL_MODES) {
    it(`${mode} matches libpq`, () => {
      const rule = SSLMODE_RULES[mode];
      assert.deepEqual(
        [rule.first, rule.fallback, rule.onRefused, rule.verifyChain, rule.verifyHostname],
        expected[mode],
      );
      assert.equal(rule.allowsDirect, rule.first === 'tls' && rule.fallback === undefined);
    });
  }
});

describe('chooseRootCert', () => {
  const has =
    (...paths: string[]) =>
    (path: string) =>
      paths.includes(path);

  it('never loads trust anchors for disable', () => {
    assert.equal(chooseRootCert('disable', '/r.crt', '/home/u', has('/r.crt')), undefined);
  });
  it('verifies the chain in require (and prefer/allow) when the root file exists', () => {
    for (const mode of ['allow', 'prefer', 'require'] as const) {
      assert.deepEqual(chooseRootCert(mode, '/r.crt', '/home/u', has('/r.crt')), {
        kind: 'file',
        path: '/r.crt',
      });
      assert.deepEqual(
        chooseRootCert(mode, undefined, '/home/u', has('/home/u/.postgresql/root.crt')),
        {
          kind: 'file',
          path: '/home/u/.postgresql/root.crt',
        },
      );
      assert.equal(chooseRootCert(mode, '/r.crt', '/home/u', has()), undefined);
    }
  });
  it('uses the system store for sslrootcert=system', () => {
    assert.deepEqual(chooseRootCert('verify-full', 'system', undefined, has()), { kind: 'system' });
  });
  it('fails verify-ca/verify-full without a root file, with libpq message and hint', () => {
    for (const mode of ['verify-ca', 'verify-full'] as const) {
      assert.throws(
        () => chooseRootCert(mode, undefined, '/home/u', has()),
        (error: unknown) => {
          assert.ok(error instanceof UpstreamError);
          assert.equal(error.code, 'ERR_UPSTREAM_TLS');
          assert.equal(
            error.message,
            'root certificate file "/home/u/.postgresql/root.crt" does not exist',
          );
          assert.equal(error.hint, ROOT_CERT_HINT);
          return true;
        },
      );
    }
  });
});
