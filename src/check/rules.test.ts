// The rules as a table: facts (a healthy baseline with one thing changed) → the findings
// expected, by id and severity, and every warn/fail carries why and fix.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CertificateInfo, TargetFacts, TlsFacts } from './facts.js';
import { evaluate } from './rules.js';
import { cidr } from './rules-database.js';

const LEAF: CertificateInfo = {
  subject: 'CN=db.example.com',
  issuer: 'CN=Example Intermediate',
  notBefore: '2026-01-01T00:00:00.000Z',
  notAfter: '2027-01-01T00:00:00.000Z',
  daysLeft: 200,
  expired: false,
  keyType: 'ec',
  keyBits: 256,
  curve: 'prime256v1',
  signatureAlgorithm: 'ecdsa-with-SHA256',
  isCa: false,
  selfSigned: false,
  hostNames: ['db.example.com'],
};
const INTERMEDIATE: CertificateInfo = {
  ...LEAF,
  subject: 'CN=Example Intermediate',
  issuer: 'CN=Example Root',
  isCa: true,
  hostNames: [],
};

function healthyTls(): TlsFacts {
  return {
    via: 'sslrequest',
    versions: {
      TLSv1: { accepted: false, ciphers: [] },
      'TLSv1.1': { accepted: false, ciphers: [] },
      'TLSv1.2': { accepted: true, ciphers: ['ECDHE-ECDSA-AES256-GCM-SHA384'] },
      'TLSv1.3': { accepted: true, ciphers: ['TLS_AES_256_GCM_SHA384'] },
    },
    groups: [{ name: 'X25519', accepted: true }],
    renegotiation: { answer: 'refused' },
    resumption: { answer: 'not-resumed' },
    certificate: {
      chain: [LEAF, INTERMEDIATE],
      chainSource: 'openssl',
      inOrder: true,
      complete: true,
      trust: { store: 'sslrootcert', trusted: true },
      names: [{ name: 'db.example.com' }],
    },
    clientCertificate: { requested: false, caNames: [] },
  };
}

function healthy(): TargetFacts {
  return {
    negotiation: {
      sslRequest: { answer: 'S' },
      gssEncRequest: { answer: 'N' },
      directTlsAlpn: { answer: 'accepted' },
      directTlsNoAlpn: { answer: 'refused' },
    },
    tls: healthyTls(),
    authentication: {
      user: 'app',
      plaintext: {
        kind: 'error',
        sqlstate: '28000',
        message:
          'no pg_hba.conf entry for host "10.0.0.1", user "app", database "app", no encryption',
      },
      overTls: {
        kind: 'authentication',
        method: 'sasl',
        mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'],
      },
    },
    database: {
      login: { ok: true, user: 'postgres', superuser: true, serverVersion: '15.10' },
      settings: {
        ssl: 'on',
        ssl_min_protocol_version: 'TLSv1.2',
        ssl_ciphers: 'HIGH:!aNULL',
        ssl_prefer_server_ciphers: 'on',
        password_encryption: 'scram-sha-256',
        ssl_ca_file: '',
        ssl_crl_file: '',
        ssl_crl_dir: '',
      },
      hbaRules: [
        {
          lineNumber: 1,
          type: 'local',
          database: ['all'],
          userName: ['all'],
          address: null,
          netmask: null,
          authMethod: 'peer',
          error: null,
        },
        {
          lineNumber: 2,
          type: 'hostnossl',
          database: ['all'],
          userName: ['all'],
          address: 'all',
          netmask: null,
          authMethod: 'reject',
          error: null,
        },
        {
          lineNumber: 3,
          type: 'hostssl',
          database: ['all'],
          userName: ['all'],
          address: '0.0.0.0',
          netmask: '0.0.0.0',
          authMethod: 'scram-sha-256',
          error: null,
        },
      ],
      md5Roles: [],
      sessions: [
        {
          user: 'app',
          database: 'app',
          clientAddr: '10.0.0.1',
          ssl: true,
          version: 'TLSv1.3',
          cipher: 'TLS_AES_256_GCM_SHA384',
          count: 2,
        },
      ],
      notes: [],
    },
  };
}

type Change = (facts: TargetFacts) => void;

const tls = (f: TargetFacts) => f.tls as TlsFacts;
const cert = (f: TargetFacts) => tls(f).certificate as NonNullable<TlsFacts['certificate']>;
const db = (f: TargetFacts) => f.database as NonNullable<TargetFacts['database']>;
const hbaRow = (type: string, authMethod: string, error: string | null = null) => ({
  lineNumber: 9,
  type,
  database: ['all'],
  userName: ['all'],
  address: '0.0.0.0',
  netmask: '0.0.0.0',
  authMethod,
  error,
});

// [name, change, expected findings as `id:severity`]
const TABLE: Array<[string, Change, string[]]> = [
  [
    'SSLRequest answered N',
    (f) => {
      f.negotiation.sslRequest = { answer: 'N' };
    },
    ['sslrequest:fail'],
  ],
  [
    'direct TLS without ALPN accepted',
    (f) => {
      f.negotiation.directTlsNoAlpn = { answer: 'accepted' };
    },
    ['direct-tls-without-alpn:warn'],
  ],
  [
    'TLS 1.0 accepted',
    (f) => {
      tls(f).versions.TLSv1 = { accepted: true, ciphers: ['ECDHE-RSA-AES128-SHA'] };
    },
    ['tls-version:fail', 'cipher-cbc-tls10:warn'],
  ],
  [
    'TLS 1.3 missing',
    (f) => {
      tls(f).versions['TLSv1.3'] = { accepted: false, ciphers: [] };
    },
    ['tls-version:info'],
  ],
  [
    'no version at all',
    (f) => {
      for (const v of ['TLSv1.2', 'TLSv1.3'] as const)
        tls(f).versions[v] = { accepted: false, ciphers: [], detail: 'closed' };
    },
    ['tls-handshake:fail'],
  ],
  [
    'an anonymous suite',
    (f) => {
      tls(f).versions['TLSv1.2'].ciphers.push('ADH-AES128-GCM-SHA256');
    },
    ['cipher-anonymous:fail', 'cipher-no-forward-secrecy:warn'],
  ],
  [
    'a NULL suite',
    (f) => {
      tls(f).versions['TLSv1.2'].ciphers.push('ECDHE-RSA-NULL-SHA');
    },
    ['cipher-null:fail'],
  ],
  [
    'a static RSA suite',
    (f) => {
      tls(f).versions['TLSv1.2'].ciphers.push('AES128-GCM-SHA256');
    },
    ['cipher-no-forward-secrecy:warn'],
  ],
  [
    'renegotiation allowed',
    (f) => {
      tls(f).renegotiation = { answer: 'allowed' };
    },
    ['renegotiation:warn'],
  ],
  [
    'untrusted certificate',
    (f) => {
      cert(f).trust = { store: 'system', trusted: false, error: 'self-signed certificate' };
    },
    ['certificate-trust:fail'],
  ],
  [
    'wrong host name',
    (f) => {
      cert(f).names.push({
        name: 'other',
        problem: 'server certificate for "db.example.com" does not match host name "other"',
      });
    },
    ['certificate-host-name:fail'],
  ],
  [
    'expired',
    (f) => {
      cert(f).chain[0] = { ...LEAF, daysLeft: -3, expired: true };
    },
    ['certificate-expiry:fail'],
  ],
  [
    'expires in 20 days',
    (f) => {
      cert(f).chain[0] = { ...LEAF, daysLeft: 20 };
    },
    ['certificate-expiry:warn'],
  ],
  [
    'RSA 1024',
    (f) => {
      cert(f).chain[0] = { ...LEAF, keyType: 'rsa', keyBits: 1024 };
    },
    ['certificate-key:fail'],
  ],
  [
    'SHA-1 signature',
    (f) => {
      cert(f).chain[0] = { ...LEAF, signatureAlgorithm: 'sha1WithRSAEncryption' };
    },
    ['certificate-signature:fail'],
  ],
  [
    'self-signed leaf',
    (f) => {
      cert(f).chain = [{ ...LEAF, selfSigned: true, isCa: true }];
    },
    ['certificate-self-signed:warn'],
  ],
  [
    'leaf with CA:TRUE',
    (f) => {
      cert(f).chain[0] = { ...LEAF, isCa: true };
    },
    ['certificate-ca-flag:warn'],
  ],
  [
    'intermediate without CA:TRUE',
    (f) => {
      cert(f).chain[1] = { ...INTERMEDIATE, isCa: false };
    },
    ['certificate-ca-flag:fail'],
  ],
  [
    'chain out of order',
    (f) => {
      cert(f).inOrder = false;
    },
    ['certificate-chain-order:warn'],
  ],
  [
    'chain incomplete',
    (f) => {
      cert(f).complete = false;
    },
    ['certificate-chain-incomplete:warn'],
  ],
  [
    'plaintext reaches authentication',
    (f) => {
      f.authentication.plaintext = {
        kind: 'authentication',
        method: 'sasl',
        mechanisms: ['SCRAM-SHA-256'],
      };
    },
    ['plaintext-startup:fail'],
  ],
  [
    'plaintext refused for another reason',
    (f) => {
      f.authentication.plaintext = {
        kind: 'error',
        sqlstate: '28000',
        message: 'role "x" does not exist',
      };
    },
    ['plaintext-startup:info'],
  ],
  [
    'no channel binding',
    (f) => {
      f.authentication.overTls = {
        kind: 'authentication',
        method: 'sasl',
        mechanisms: ['SCRAM-SHA-256'],
      };
    },
    ['scram-channel-binding:warn'],
  ],
  [
    'md5 over TLS',
    (f) => {
      f.authentication.overTls = { kind: 'authentication', method: 'md5' };
    },
    ['password-method:warn'],
  ],
  [
    'trust over TLS',
    (f) => {
      f.authentication.overTls = { kind: 'authentication', method: 'ok' };
    },
    ['trust-over-tcp:fail'],
  ],
  [
    'login failed',
    (f) => {
      f.database = {
        login: { ok: false, error: 'password authentication failed for user "x"' },
        settings: {},
        notes: [],
      };
    },
    ['login:fail'],
  ],
  [
    'login skipped (direct-TLS-only endpoint) is not a problem',
    (f) => {
      f.database = {
        login: { ok: false, skipped: true, error: 'direct TLS only' },
        settings: {},
        notes: [],
      };
    },
    [],
  ],
  [
    'ssl = off',
    (f) => {
      db(f).settings.ssl = 'off';
    },
    ['setting-ssl:fail'],
  ],
  [
    "ssl_min_protocol_version = 'TLSv1'",
    (f) => {
      db(f).settings.ssl_min_protocol_version = 'TLSv1';
    },
    ['setting-ssl-min-protocol-version:fail'],
  ],
  [
    'weak ssl_ciphers',
    (f) => {
      db(f).settings.ssl_ciphers = 'ALL:@SECLEVEL=0';
    },
    ['setting-ssl-ciphers:warn'],
  ],
  [
    'ssl_prefer_server_ciphers = off',
    (f) => {
      db(f).settings.ssl_prefer_server_ciphers = 'off';
    },
    ['setting-ssl-prefer-server-ciphers:warn'],
  ],
  [
    "password_encryption = 'md5'",
    (f) => {
      db(f).settings.password_encryption = 'md5';
    },
    ['setting-password-encryption:warn'],
  ],
  [
    'CA without CRL',
    (f) => {
      db(f).settings.ssl_ca_file = 'root.crt';
    },
    ['setting-ssl-crl:info'],
  ],
  [
    'host … trust',
    (f) => {
      db(f).hbaRules?.push(hbaRow('host', 'trust'));
    },
    ['hba-trust-tcp:fail', 'hba-without-tls:warn'],
  ],
  [
    'hostnossl not rejecting',
    (f) => {
      db(f).hbaRules?.push(hbaRow('hostnossl', 'scram-sha-256'));
    },
    ['hba-without-tls:fail'],
  ],
  [
    'hostssl md5',
    (f) => {
      db(f).hbaRules?.push(hbaRow('hostssl', 'md5'));
    },
    ['hba-weak-password-method:warn'],
  ],
  [
    'hostssl password',
    (f) => {
      db(f).hbaRules?.push(hbaRow('hostssl', 'password'));
    },
    ['hba-weak-password-method:warn'],
  ],
  [
    'a rule with an error',
    (f) => {
      db(f).hbaRules?.push(hbaRow('host', '', 'invalid authentication method "md6"'));
    },
    ['hba-error:fail'],
  ],
  [
    'host … reject is fine',
    (f) => {
      db(f).hbaRules?.push(hbaRow('host', 'reject'));
    },
    [],
  ],
  [
    'MD5 password hashes',
    (f) => {
      db(f).md5Roles = ['legacy'];
    },
    ['md5-passwords:warn'],
  ],
  [
    'a session without TLS',
    (f) => {
      db(f).sessions?.push({
        user: 'app',
        database: 'app',
        clientAddr: '10.0.0.9',
        ssl: false,
        version: null,
        cipher: null,
        count: 1,
      });
    },
    ['sessions-without-tls:warn'],
  ],
  [
    'a session with TLS 1.1',
    (f) => {
      db(f).sessions?.push({
        user: 'old',
        database: 'app',
        clientAddr: '10.0.0.8',
        ssl: true,
        version: 'TLSv1.1',
        cipher: 'AES128-SHA',
        count: 1,
      });
    },
    ['sessions-weak-tls:warn'],
  ],
];

function problems(facts: TargetFacts): string[] {
  return evaluate(facts)
    .filter((f) => f.severity !== 'ok' && !(f.severity === 'info' && BASELINE_INFO.has(f.id)))
    .map((f) => `${f.id}:${f.severity}`);
}

/** Informational findings every report has. */
const BASELINE_INFO = new Set([
  'gssencrequest',
  'cipher-list',
  'key-exchange-groups',
  'session-resumption',
  'certificate-chain',
  'client-certificate-request',
  'login',
  'setting-ssl-ciphers',
]);

describe('rules', () => {
  it('a healthy server has no problem', () => {
    assert.deepEqual(problems(healthy()), []);
  });

  for (const [name, change, expected] of TABLE) {
    it(name, () => {
      const facts = healthy();
      change(facts);
      assert.deepEqual(problems(facts), expected);
      for (const finding of evaluate(facts)) {
        if (finding.severity === 'warn' || finding.severity === 'fail') {
          assert.ok(finding.why, `${finding.id} needs a why`);
          assert.ok(finding.fix, `${finding.id} needs a fix`);
        }
      }
    });
  }
});

describe('cidr', () => {
  const cases: Array<[string, string | null, string]> = [
    ['10.0.0.0', '255.0.0.0', '10.0.0.0/8'],
    ['0.0.0.0', '0.0.0.0', '0.0.0.0/0'],
    ['127.0.0.1', '255.255.255.255', '127.0.0.1/32'],
    ['::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '::1/128'],
    ['fd00::', 'ffff:ffff::', 'fd00::/32'],
    ['10.0.0.0', '255.0.255.0', '10.0.0.0 255.0.255.0'],
    ['all', null, 'all'],
  ];
  for (const [address, netmask, expected] of cases) {
    it(`${address} ${netmask ?? ''} → ${expected}`, () =>
      assert.equal(cidr(address, netmask), expected));
  }
});
