// pg_hba.conf / pg_ident.conf rules enforced by `pgtunnel serve` end to end with psql:
// hostssl / hostnossl / reject, clientcert=verify-ca vs verify-full, cert auth with and
// without maps (CN and RFC 2253 DN), and revoked, expired and untrusted client certificates —
// each refused with the FATAL PostgreSQL sends; CRLs from ssl_crl_dir, checked for every CA.
import assert from 'node:assert/strict';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { caLayout } from '../../src/ca/layout.js';
import { psqlOk, runPsql } from '../helpers/clients.js';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';
import { type PgtunnelProcess, startPgtunnel } from '../helpers/pgtunnel-process.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { clientWithSubject } from '../helpers/subject-certificate.js';

const HBA = `
# TYPE    DATABASE  USER           ADDRESS        METHOD
local     all       rejected_user                 reject
local     all       all                           trust
hostnossl plain_db  all            127.0.0.1/32   trust
hostssl   all       rejected_user  127.0.0.1/32   reject
hostssl   certdb    all            127.0.0.1/32   cert
hostssl   mapdb     all            127.0.0.1/32   cert  map=people
hostssl   dndb      all            127.0.0.1/32   cert  clientname=DN map=bydn
hostssl   vcadb     all            127.0.0.1/32   trust clientcert=verify-ca
hostssl   vfulldb   all            127.0.0.1/32   trust clientcert=verify-full
hostssl   all       all            127.0.0.1/32   trust
`;

const IDENT = `
# MAPNAME  SYSTEM-USERNAME           PG-USERNAME
people     /^(.*)@example\\.com$     \\1
people     admin-cert                postgres
# The DN as PostgreSQL prints it: RFC 2253, the comma inside O escaped, UID+OU one RDN.
bydn       "/^CN=([a-z]+),UID=u1\\+OU=Eng,O=Acme\\\\, Inc\\.,C=FR$"   \\1
`;

/** Sends SIGHUP and waits until a new configuration is in effect. */
async function reloadApplied(gateway: PgtunnelProcess): Promise<void> {
  const count = () => gateway.logs().filter((r) => r.msg === 'configuration reloaded').length;
  const before = count();
  gateway.child.kill('SIGHUP');
  while (count() === before) await delay(50);
  assert.ok(count() > before, 'the reload was not applied');
}

describe('serve: pg_hba.conf rules and client certificates', () => {
  let env: GatewayEnv;
  let pki: TestPki;
  let alice: { cert: string; key: string };
  let aliceMail: { cert: string; key: string };
  let admin: { cert: string; key: string };
  let revoked: { cert: string; key: string };
  let expired: { cert: string; key: string };
  let untrusted: { cert: string; key: string };
  let dnAlice: { cert: string; key: string };
  let socketDir: string;

  before(async () => {
    pki = await createTestPki();
    alice = await pki.client('alice');
    aliceMail = await pki.client('alice', { cn: 'alice@example.com' });
    admin = await pki.client('postgres', { cn: 'admin-cert' });
    revoked = await pki.client('alice', { cn: 'alice' });
    await pki.revoke(revoked.cert);
    expired = await pki.client('alice', { expired: true });
    untrusted = await pki.client('alice', { untrusted: true });
    dnAlice = await clientWithSubject(pki, 'dn-alice', '/C=FR/O=Acme, Inc./OU=Eng+UID=u1/CN=alice');
    socketDir = mkdtempSync(join(tmpdir(), 'pgtunnel-hba-sock-'));
    chmodSync(socketDir, 0o755);
    env = await startGatewayEnv({
      pki,
      serveArgs: ['--unix-socket-directories', socketDir],
      configFile: ({ dir }) => {
        writeFileSync(join(dir, 'pg_hba.conf'), HBA);
        writeFileSync(join(dir, 'pg_ident.conf'), IDENT);
        return [
          "hba_file = 'pg_hba.conf'",
          "ident_file = 'pg_ident.conf'",
          `ssl_ca_file = '${pki.caBundle}'`,
          `ssl_crl_file = '${pki.crlBundle}'`,
          '',
        ].join('\n');
      },
    });
    for (const db of ['plain_db', 'certdb', 'mapdb', 'dndb', 'vcadb', 'vfulldb'])
      await env.cluster.sql(`CREATE DATABASE ${db}`);
    for (const role of ['alice', 'bob', 'rejected_user'])
      await env.cluster.sql(`CREATE ROLE ${role} LOGIN`);
  });
  after(async () => {
    await env?.close();
    await pki?.cleanup();
    if (socketDir) rmSync(socketDir, { recursive: true, force: true });
  });

  const tls = (db: string, user: string, cert?: { cert: string; key: string }) =>
    env.conninfo(
      `dbname=${db} user=${user}${cert ? ` sslcert=${cert.cert} sslkey=${cert.key}` : ''}`,
    );
  const refused = async (conninfo: string, message: RegExp) => {
    const result = await runPsql({ conninfo });
    assert.notEqual(result.code, 0, `expected refusal, got: ${result.stdout}`);
    assert.match(result.stderr, message);
  };

  it('hostnossl admits plaintext to its database and nothing else', async () => {
    const plain = (db: string) =>
      `host=127.0.0.1 port=${env.port} user=postgres dbname=${db} sslmode=disable`;
    assert.equal(
      await psqlOk({ conninfo: plain('plain_db'), sql: 'SELECT current_database()' }),
      'plain_db',
    );
    await refused(
      plain('postgres'),
      /FATAL: {2}no pg_hba\.conf entry for host "127\.0\.0\.1", user "postgres", database "postgres", no encryption/,
    );
    // hostnossl does not match a TLS connection; it falls through to the last hostssl line.
    assert.equal(await psqlOk({ conninfo: tls('plain_db', 'postgres'), sql: 'SELECT 1' }), '1');
  });

  it('local rules apply to the unix socket, refused as "[local]"', async () => {
    const local = (user: string) =>
      `host=${socketDir} port=${env.port} user=${user} dbname=postgres`;
    assert.equal(
      await psqlOk({ conninfo: local('postgres'), sql: 'SELECT current_user' }),
      'postgres',
    );
    await refused(
      local('rejected_user'),
      /FATAL: {2}pg_hba\.conf rejects connection for host "\[local\]", user "rejected_user", database "postgres", no encryption/,
    );
  });

  it("reject refuses with PostgreSQL's wording", async () => {
    await refused(
      tls('postgres', 'rejected_user'),
      /FATAL: {2}pg_hba\.conf rejects connection for host "127\.0\.0\.1", user "rejected_user", database "postgres", SSL encryption/,
    );
  });

  it('cert: the CN must be the user', async () => {
    assert.equal(
      await psqlOk({ conninfo: tls('certdb', 'alice', alice), sql: 'SELECT current_user' }),
      'alice',
    );
    await refused(
      tls('certdb', 'bob', alice),
      /FATAL: {2}certificate authentication failed for user "bob"/,
    );
    await refused(
      tls('certdb', 'alice'),
      /FATAL: {2}connection requires a valid client certificate/,
    );
  });

  it('cert with map=: regular expression and literal maps', async () => {
    assert.equal(
      await psqlOk({ conninfo: tls('mapdb', 'alice', aliceMail), sql: 'SELECT current_user' }),
      'alice',
    );
    assert.equal(
      await psqlOk({ conninfo: tls('mapdb', 'postgres', admin), sql: 'SELECT current_user' }),
      'postgres',
    );
    await refused(
      tls('mapdb', 'alice', admin),
      /FATAL: {2}certificate authentication failed for user "alice"/,
    );
    // Without the map, alice@example.com is not "alice".
    await refused(
      tls('certdb', 'alice', aliceMail),
      /FATAL: {2}certificate authentication failed for user "alice"/,
    );
  });

  it('a reload re-reads pg_ident.conf: a new mapping applies to new connections', async () => {
    await refused(
      tls('mapdb', 'alice', admin),
      /FATAL: {2}certificate authentication failed for user "alice"/,
    );
    const identFile = join(env.dir, 'pg_ident.conf');
    writeFileSync(identFile, `${IDENT}people     admin-cert                alice\n`);
    try {
      await reloadApplied(env.gateway);
      assert.equal(
        await psqlOk({ conninfo: tls('mapdb', 'alice', admin), sql: 'SELECT current_user' }),
        'alice',
      );
    } finally {
      writeFileSync(identFile, IDENT);
      await reloadApplied(env.gateway);
    }
  });

  it('cert clientname=DN: the map matches the RFC 2253 DN exactly as PostgreSQL prints it', async () => {
    assert.equal(
      await psqlOk({ conninfo: tls('dndb', 'alice', dnAlice), sql: 'SELECT current_user' }),
      'alice',
    );
    // Another CN under the same DN pattern maps to another user; the map decides, not the CN.
    await refused(
      tls('dndb', 'bob', dnAlice),
      /FATAL: {2}certificate authentication failed for user "bob"/,
    );
    // A certificate whose DN does not fit the pattern (no O, UID, OU) is refused.
    await refused(
      tls('dndb', 'alice', alice),
      /FATAL: {2}certificate authentication failed for user "alice"/,
    );
    const logged = env.gateway.logs().map((r) => String(r.detail ?? ''));
    assert.ok(
      logged.some((d) =>
        d.includes(
          'no match in usermap "bydn" for user "bob" authenticated as "CN=alice,UID=u1+OU=Eng,O=Acme\\, Inc.,C=FR"',
        ),
      ),
      logged.join('\n'),
    );
  });

  it('accepts a certificate sent without its intermediate: the CA file holds it', async () => {
    const pem = readFileSync(alice.cert, 'utf8');
    const leafOnly = join(env.dir, 'alice-leaf-only.crt');
    writeFileSync(leafOnly, pem.slice(0, pem.indexOf('-----END CERTIFICATE-----') + 26));
    assert.equal(
      await psqlOk({
        conninfo: tls('certdb', 'alice', { cert: leafOnly, key: alice.key }),
        sql: 'SELECT current_user',
      }),
      'alice',
    );
  });

  it('clientcert=verify-ca accepts any valid certificate; verify-full checks the CN', async () => {
    assert.equal(
      await psqlOk({ conninfo: tls('vcadb', 'bob', alice), sql: 'SELECT current_user' }),
      'bob',
    );
    await refused(tls('vcadb', 'bob'), /FATAL: {2}connection requires a valid client certificate/);
    assert.equal(
      await psqlOk({ conninfo: tls('vfulldb', 'alice', alice), sql: 'SELECT current_user' }),
      'alice',
    );
    await refused(
      tls('vfulldb', 'bob', alice),
      /FATAL: {2}"trust" authentication failed for user "bob"/,
    );
  });

  it('refuses revoked, expired and untrusted client certificates, naming the reason', async () => {
    // PostgreSQL ends the handshake with the alert; the gateway says the same in the DETAIL, and
    // its log names the real reason (an unknown CA, not a missing CRL, with a CRL file set).
    const cases = [
      {
        cert: revoked,
        alert: 'certificate revoked',
        reason: 'has been revoked',
        log: /CERT_REVOKED/,
      },
      {
        cert: expired,
        alert: 'certificate expired',
        reason: 'has expired',
        log: /CERT_HAS_EXPIRED/,
      },
      {
        cert: untrusted,
        alert: 'unknown ca',
        reason: 'was not issued by a trusted certificate authority',
        log: /UNABLE_TO_GET_ISSUER_CERT_LOCALLY \(the client certificate was not issued by a trusted/,
      },
    ];
    for (const { cert, alert, reason, log } of cases) {
      const logsBefore = env.gateway.logs().length;
      const result = await runPsql({ conninfo: tls('vcadb', 'alice', cert) });
      assert.notEqual(result.code, 0, result.stdout);
      assert.match(result.stderr, /FATAL: {2}connection requires a valid client certificate/);
      assert.match(
        result.stderr,
        new RegExp(
          `DETAIL: {2}The client certificate ${reason} \\(PostgreSQL ends the TLS handshake with the alert "${alert}"\\)`,
        ),
        result.stderr,
      );
      const details = env.gateway
        .logs()
        .slice(logsBefore)
        .map((r) => String(r.detail ?? ''))
        .join('\n');
      assert.match(details, log, details);
      assert.doesNotMatch(details, /UNABLE_TO_GET_CRL/);
    }
  });

  /** A second gateway on the same server with other CRL settings and `cert` for everyone. */
  async function gatewayWithCrls(
    name: string,
    settings: string,
  ): Promise<{
    gateway: PgtunnelProcess;
    conninfo: (user: string, cert: { cert: string; key: string }) => string;
  }> {
    const port = await freePort();
    const dir = join(env.dir, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'pg_hba.conf'), 'hostssl all all 127.0.0.1/32 cert\n');
    writeFileSync(
      join(dir, 'pgtunnel.conf'),
      [
        `ssl_cert_file = '${pki.serverCert}'`,
        `ssl_key_file = '${pki.serverKey}'`,
        `ssl_ca_file = '${pki.caBundle}'`,
        "hba_file = 'pg_hba.conf'",
        settings,
        '',
      ].join('\n'),
    );
    const gateway = await startPgtunnel([
      'serve',
      '--config',
      join(dir, 'pgtunnel.conf'),
      '--listen-addresses',
      '127.0.0.1',
      '--port',
      String(port),
      '--upstream',
      `host=${env.cluster.socketDir} port=${env.cluster.port} sslmode=disable`,
      '--workers',
      '1',
    ]);
    return {
      gateway,
      conninfo: (user, cert) =>
        `host=localhost port=${port} dbname=postgres user=${user} sslmode=verify-full sslrootcert=${pki.caBundle} sslcert=${cert.cert} sslkey=${cert.key}`,
    };
  }

  it('ssl_crl_dir: revocations are read from the directory, and again on reload', async () => {
    const layout = caLayout(join(pki.dir, 'ca'));
    const crlDir = join(env.dir, 'crl.d');
    mkdirSync(crlDir);
    const publish = () => {
      copyFileSync(layout.level('root').crl, join(crlDir, 'root.r0'));
      copyFileSync(layout.level('intermediate').crl, join(crlDir, 'intermediate.r0'));
    };
    publish();
    await env.cluster.sql('CREATE ROLE carol LOGIN');
    const carol = await pki.client('carol');
    const { gateway, conninfo } = await gatewayWithCrls('crl-dir', `ssl_crl_dir = '${crlDir}'`);
    try {
      assert.equal(
        await psqlOk({ conninfo: conninfo('alice', alice), sql: 'SELECT current_user' }),
        'alice',
      );
      await refused(
        conninfo('alice', revoked),
        /FATAL: {2}connection requires a valid client certificate/,
      );
      assert.equal(
        await psqlOk({ conninfo: conninfo('carol', carol), sql: 'SELECT current_user' }),
        'carol',
      );

      await pki.revoke(carol.cert);
      publish();
      await reloadApplied(gateway);
      await refused(
        conninfo('carol', carol),
        /FATAL: {2}connection requires a valid client certificate/,
      );
      assert.equal(await psqlOk({ conninfo: conninfo('alice', alice), sql: 'SELECT 1' }), '1');
      const reasons = gateway
        .logs()
        .map((r) => String(r.detail ?? ''))
        .join('\n');
      assert.equal(reasons.match(/CERT_REVOKED/g)?.length, 2, reasons);
    } finally {
      await gateway.stop('SIGINT');
    }
  });

  it("revocation is checked for every CA in the chain: without the root's CRL nothing passes", async () => {
    const layout = caLayout(join(pki.dir, 'ca'));
    const { gateway, conninfo } = await gatewayWithCrls(
      'crl-one-level',
      `ssl_crl_file = '${layout.level('intermediate').crl}'`,
    );
    try {
      await refused(
        conninfo('alice', alice),
        /FATAL: {2}connection requires a valid client certificate/,
      );
      const reasons = gateway
        .logs()
        .map((r) => String(r.detail ?? ''))
        .join('\n');
      assert.match(reasons, /UNABLE_TO_GET_CRL/);
    } finally {
      await gateway.stop('SIGINT');
    }
  });
});
