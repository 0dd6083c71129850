// pg_hba.conf / pg_ident.conf rules enforced by `pgtunnel serve` end to end with psql:
// hostssl / hostnossl / reject, clientcert=verify-ca vs verify-full, cert auth with and
// without maps, and revoked, expired and untrusted client certificates — each refused with
// the FATAL PostgreSQL sends.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { psqlOk, runPsql } from '../helpers/clients.js';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';

const HBA = `
# TYPE    DATABASE  USER           ADDRESS        METHOD
local     all       all                           trust
hostnossl plain_db  all            127.0.0.1/32   trust
hostssl   all       rejected_user  127.0.0.1/32   reject
hostssl   certdb    all            127.0.0.1/32   cert
hostssl   mapdb     all            127.0.0.1/32   cert  map=people
hostssl   vcadb     all            127.0.0.1/32   trust clientcert=verify-ca
hostssl   vfulldb   all            127.0.0.1/32   trust clientcert=verify-full
hostssl   all       all            127.0.0.1/32   trust
`;

const IDENT = `
# MAPNAME  SYSTEM-USERNAME           PG-USERNAME
people     /^(.*)@example\\.com$     \\1
people     admin-cert                postgres
`;

describe('serve: pg_hba.conf rules and client certificates', () => {
  let env: GatewayEnv;
  let pki: TestPki;
  let alice: { cert: string; key: string };
  let aliceMail: { cert: string; key: string };
  let admin: { cert: string; key: string };
  let revoked: { cert: string; key: string };
  let expired: { cert: string; key: string };
  let untrusted: { cert: string; key: string };

  before(async () => {
    pki = await createTestPki();
    alice = await pki.client('alice');
    aliceMail = await pki.client('alice', { cn: 'alice@example.com' });
    admin = await pki.client('postgres', { cn: 'admin-cert' });
    revoked = await pki.client('alice', { cn: 'alice' });
    await pki.revoke(revoked.cert);
    expired = await pki.client('alice', { expired: true });
    untrusted = await pki.client('alice', { untrusted: true });
    env = await startGatewayEnv({
      pki,
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
    for (const db of ['plain_db', 'certdb', 'mapdb', 'vcadb', 'vfulldb'])
      await env.cluster.sql(`CREATE DATABASE ${db}`);
    for (const role of ['alice', 'bob', 'rejected_user'])
      await env.cluster.sql(`CREATE ROLE ${role} LOGIN`);
  });
  after(async () => {
    await env?.close();
    await pki?.cleanup();
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

  it('refuses revoked, expired and untrusted client certificates', async () => {
    for (const cert of [revoked, expired, untrusted]) {
      await refused(
        tls('vcadb', 'alice', cert),
        /FATAL: {2}connection requires a valid client certificate/,
      );
    }
    const reasons = env.gateway
      .logs()
      .map((r) => String(r.detail ?? ''))
      .join('\n');
    assert.match(reasons, /CERT_REVOKED/);
    assert.match(reasons, /CERT_HAS_EXPIRED/);
    assert.match(reasons, /UNABLE_TO_GET_CRL|UNABLE_TO_GET_ISSUER_CERT|UNABLE_TO_VERIFY/);
  });
});
