// authorize(): the FATAL text and SQLSTATE the client sees, and what gets logged, for each way
// a connection can be refused; the wording is PostgreSQL's (auth.c ClientAuthentication,
// CheckCertAuth, auth_failed), checked against PostgreSQL 15 and 18 servers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Authorization, authorize, type ClientCertFacts, type Denied } from './authorize.js';
import { parseIdent } from './ident.js';
import { type ConnectionFacts, matchHba } from './match.js';
import { parseHba } from './parse.js';

const NO_CERT: ClientCertFacts = { presented: false, verified: false };
const BOB_CERT: ClientCertFacts = {
  presented: true,
  verified: true,
  cn: 'bob',
  dn: 'CN=bob,O=Example',
};

const identMaps = parseIdent(
  'certs /^(.*)@example\\.com$ \\1\ncerts bob robert\n',
  '/etc/pgtunnel/pg_ident.conf',
);

function judge(
  hba: string,
  facts: Partial<ConnectionFacts>,
  cert: ClientCertFacts = NO_CERT,
): Authorization {
  const { rules } = parseHba(hba, '/etc/pgtunnel/pg_hba.conf');
  const full: ConnectionFacts = {
    transport: 'tcp',
    address: '127.0.0.1',
    ssl: true,
    database: 'app',
    user: 'alice',
    replication: false,
    localAddresses: [],
    ...facts,
  };
  return authorize(matchHba(rules, full), full, cert, identMaps);
}

function denied(result: Authorization): Denied {
  assert.equal(result.allow, false, 'expected a refusal');
  return result as Denied;
}

const NOTHING = 'host nothing nobody 192.0.2.1/32 trust\n';

describe('no matching line', () => {
  test('tcp without TLS', () => {
    const r = denied(judge(NOTHING, { ssl: false }));
    assert.equal(r.reason, 'no-match');
    assert.equal(r.sqlstate, '28000');
    assert.equal(
      r.message,
      'no pg_hba.conf entry for host "127.0.0.1", user "alice", database "app", no encryption',
    );
    assert.equal(r.detail, undefined);
    assert.equal(r.rule, undefined);
  });

  test('an IPv4-mapped client is printed as IPv4; TLS is "SSL encryption"', () => {
    const r = denied(judge(NOTHING, { address: '::ffff:10.0.0.1' }));
    assert.equal(
      r.message,
      'no pg_hba.conf entry for host "10.0.0.1", user "alice", database "app", SSL encryption',
    );
  });

  test('IPv6 clients are printed in compressed form', () => {
    const r = denied(judge(NOTHING, { address: '2001:0db8:0000:0000:0000:0000:0000:0001' }));
    assert.match(r.message, /^no pg_hba\.conf entry for host "2001:db8::1", /);
  });

  test('a Unix-socket client is "[local]"', () => {
    const r = denied(judge(NOTHING, { transport: 'local', ssl: false, address: undefined }));
    assert.equal(
      r.message,
      'no pg_hba.conf entry for host "[local]", user "alice", database "app", no encryption',
    );
  });

  test('physical replication names no database; logical replication does', () => {
    assert.equal(
      denied(judge(NOTHING, { replication: true })).message,
      'no pg_hba.conf entry for replication connection from host "127.0.0.1", user "alice", SSL encryption',
    );
    assert.equal(
      denied(judge(NOTHING, { replication: 'database' })).message,
      'no pg_hba.conf entry for host "127.0.0.1", user "alice", database "app", SSL encryption',
    );
  });
});

describe('reject lines', () => {
  const hba = 'host other all all trust\nhost all all all reject\n';
  'host all all all trust clientcert=verify-ca\n'.replace('host', 'hostnossl') +
    'host all all all reject\n';

  test('the message names host, user, database and encryption; the log names the line', () => {
    const r = denied(judge(hba, {}));
    assert.equal(r.reason, 'reject');
    assert.equal(r.sqlstate, '28000');
    assert.equal(
      r.message,
      'pg_hba.conf rejects connection for host "127.0.0.1", user "alice", database "app", SSL encryption',
    );
    assert.equal(
      r.logDetail,
      'Connection matched file "/etc/pgtunnel/pg_hba.conf" line 2: "host all all all reject"',
    );
    assert.equal(r.rule?.line, 2);
  });

  test('physical replication (which only the replication keyword matches)', () => {
    const replicationHba = `${hba}host replication all all reject\n`;
    assert.equal(
      denied(judge(replicationHba, { replication: true, ssl: false, address: '::1' })).message,
      'pg_hba.conf rejects replication connection for host "::1", user "alice", no encryption',
    );
  });

  test('clientcert is checked before reject, as in ClientAuthentication()', () => {
    const r = denied(judge('hostssl all all all reject clientcert=verify-ca\n', {}));
    assert.equal(r.reason, 'certificate-required');
    assert.equal(r.message, 'connection requires a valid client certificate');
  });
});

describe('client certificates', () => {
  test('clientcert=verify-ca without a certificate', () => {
    const r = denied(judge('hostssl all all all scram-sha-256 clientcert=verify-ca\n', {}));
    assert.equal(r.reason, 'certificate-required');
    assert.equal(r.sqlstate, '28000');
    assert.equal(r.message, 'connection requires a valid client certificate');
    assert.match(r.logDetail, /^clientcert=verify-ca and the client sent no certificate\n/);
  });

  test('cert without a certificate', () => {
    const r = denied(judge('hostssl all all all cert\n', {}));
    assert.equal(r.message, 'connection requires a valid client certificate');
  });

  test('a certificate that failed verification is refused on any line', () => {
    const bad = { presented: true, verified: false, verifyError: 'CERT_HAS_EXPIRED', cn: 'alice' };
    const r = denied(judge('host all all all trust\n', {}, bad));
    assert.equal(r.reason, 'certificate-invalid');
    assert.equal(r.sqlstate, '28000');
    assert.equal(r.message, 'connection requires a valid client certificate');
    assert.equal(r.logDetail, 'client certificate verification failed: CERT_HAS_EXPIRED');
  });

  test('clientcert=verify-ca accepts any valid certificate, whatever its name', () => {
    const r = judge('hostssl all all all scram-sha-256 clientcert=verify-ca\n', {}, BOB_CERT);
    assert.deepEqual(r.allow && [r.passThroughAuth, r.rule.line], [true, 1]);
  });

  test('cert: CN equal to the user is allowed, the gateway authenticated, identity is the DN', () => {
    const r = judge('hostssl all all all cert\n', { user: 'bob' }, BOB_CERT);
    assert.ok(r.allow);
    assert.equal(r.passThroughAuth, false);
    assert.equal(r.identity, 'CN=bob,O=Example');
  });

  test('cert: CN different from the user', () => {
    const r = denied(judge('hostssl all all all cert\n', {}, BOB_CERT));
    assert.equal(r.reason, 'certificate-name');
    assert.equal(r.sqlstate, '28000');
    assert.equal(r.message, 'certificate authentication failed for user "alice"');
    assert.equal(r.detail, undefined);
    assert.equal(
      r.logDetail,
      'provided user name (alice) and authenticated user name (bob) do not match\n' +
        'Connection matched file "/etc/pgtunnel/pg_hba.conf" line 1: "hostssl all all all cert"',
    );
  });

  test('cert with map=: the map decides', () => {
    const hba = 'hostssl all all all cert map=certs\n';
    assert.ok(judge(hba, { user: 'robert' }, BOB_CERT).allow);
    const email = { ...BOB_CERT, cn: 'alice@example.com' };
    assert.ok(judge(hba, { user: 'alice' }, email).allow);
    const r = denied(judge(hba, { user: 'bob' }, BOB_CERT));
    assert.equal(r.message, 'certificate authentication failed for user "bob"');
    assert.match(
      r.logDetail,
      /^no match in usermap "certs" for user "bob" authenticated as "bob"\n/,
    );
  });

  test('clientname=DN compares the RFC 2253 subject DN', () => {
    const hba = 'hostssl all all all cert clientname=DN\n';
    assert.ok(judge(hba, { user: 'CN=bob,O=Example' }, BOB_CERT).allow);
    assert.equal(denied(judge(hba, { user: 'bob' }, BOB_CERT)).reason, 'certificate-name');
  });

  test('a certificate without a CN names no user', () => {
    const r = denied(
      judge('hostssl all all all cert\n', {}, { presented: true, verified: true, dn: 'O=X' }),
    );
    assert.equal(r.message, 'certificate authentication failed for user "alice"');
    assert.match(
      r.logDetail,
      /^certificate authentication failed for user "alice": client certificate contains no user name\n/,
    );
  });

  test('scram-sha-256 with clientcert=verify-full and a CN mismatch fails as a password method', () => {
    const r = denied(
      judge('hostssl all all all scram-sha-256 clientcert=verify-full\n', {}, BOB_CERT),
    );
    assert.equal(r.reason, 'certificate-name');
    // auth_failed() words the FATAL after the rule's method and uses 28P01 for passwords.
    assert.equal(r.sqlstate, '28P01');
    assert.equal(r.message, 'password authentication failed for user "alice"');
    assert.deepEqual(r.logDetail.split('\n').slice(0, 2), [
      'provided user name (alice) and authenticated user name (bob) do not match',
      'certificate validation (clientcert=verify-full) failed for user "alice": CN mismatch',
    ]);
  });

  test('trust with clientcert=verify-full and clientname=DN', () => {
    const r = denied(
      judge('hostssl all all all trust clientcert=verify-full clientname=DN\n', {}, BOB_CERT),
    );
    assert.equal(r.sqlstate, '28000');
    assert.equal(r.message, '"trust" authentication failed for user "alice"');
    assert.match(
      r.logDetail,
      /\ncertificate validation \(clientcert=verify-full\) failed for user "alice": DN mismatch\n/,
    );
  });

  test('clientcert=verify-full with the right CN passes authentication through', () => {
    const r = judge('hostssl all all all md5 clientcert=verify-full\n', { user: 'bob' }, BOB_CERT);
    assert.ok(r.allow);
    assert.equal(r.passThroughAuth, true);
    assert.equal(r.identity, undefined);
  });
});

describe('allowed lines', () => {
  for (const method of ['trust', 'password', 'md5', 'scram-sha-256']) {
    test(`${method}: PostgreSQL authenticates through the gateway`, () => {
      const r = judge(`host all all all ${method}\n`, { ssl: false });
      assert.ok(r.allow);
      assert.equal(r.passThroughAuth, true);
      assert.equal(r.rule.method, method);
    });
  }
});
