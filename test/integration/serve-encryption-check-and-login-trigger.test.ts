// The SQL shipped in etc/pgtunnel-encryption.sql (and quoted in docs/serve.md), against a real
// PostgreSQL 18 behind the gateway: pgtunnel_session_encrypted() is right for direct and
// gateway sessions, plaintext or TLS, and the login event trigger refuses a plaintext session
// and lets a TLS one in.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { psqlOk, runPsql } from '../helpers/clients.js';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';

const SQL = readFileSync('etc/pgtunnel-encryption.sql', 'utf8');

describe('serve: the encryption check and the PostgreSQL 17+ login trigger', () => {
  let pki: TestPki;
  let env: GatewayEnv;
  /** Straight to the server's unix socket: plaintext, no gateway. */
  const directSocket = () =>
    `host=${env.cluster.socketDir} port=${env.cluster.port} user=postgres dbname=postgres`;
  /** Straight to the server over TCP with TLS, no gateway. */
  const directTls = () =>
    `host=localhost port=${env.cluster.port} user=postgres dbname=postgres sslmode=verify-full sslrootcert=${pki.caBundle}`;
  /** Through the gateway without TLS (its hba file allows it). */
  const gatewayPlain = () =>
    `host=127.0.0.1 port=${env.port} user=postgres dbname=postgres sslmode=disable`;
  const encrypted = (conninfo: string) =>
    psqlOk({ conninfo, sql: 'SELECT public.pgtunnel_session_encrypted()' });

  before(async () => {
    pki = await createTestPki();
    env = await startGatewayEnv({
      pki,
      cluster: {
        flavor: 'embedded',
        ssl: { certFile: pki.serverCert, keyFile: pki.serverKey },
        hba: 'local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n',
      },
      configFile: ({ dir }) => {
        writeFileSync(
          join(dir, 'pg_hba.conf'),
          'hostssl all all 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 trust\n',
        );
        return "hba_file = 'pg_hba.conf'\n";
      },
    });
    assert.ok(env.cluster.majorVersion >= 17, 'login event triggers need PostgreSQL 17+');
  });
  after(async () => {
    await env?.close();
    await pki?.cleanup();
  });

  it('docs/serve.md quotes the shipped SQL', () => {
    const docs = readFileSync('docs/serve.md', 'utf8');
    assert.ok(docs.includes(SQL.trim()), 'docs/serve.md must contain etc/pgtunnel-encryption.sql');
  });

  it('pgtunnel_session_encrypted() is right directly and through the gateway', async () => {
    // Everything but the trigger first, so the plaintext cases can still be asked.
    const functionOnly = SQL.slice(0, SQL.indexOf('CREATE EVENT TRIGGER'));
    await env.cluster.sql(functionOnly);
    assert.equal(await encrypted(directSocket()), 'f');
    assert.equal(await encrypted(directTls()), 't');
    assert.equal(await encrypted(gatewayPlain()), 'f');
    assert.equal(await encrypted(env.conninfo()), 't');
  });

  it('the login trigger refuses plaintext sessions and lets TLS ones in', async () => {
    await env.cluster.sql(SQL);

    const direct = await runPsql({ conninfo: directSocket(), sql: 'SELECT 1' });
    assert.notEqual(direct.code, 0);
    assert.match(direct.stderr, /unencrypted connections are not allowed to database "postgres"/);

    const throughGateway = await runPsql({ conninfo: gatewayPlain(), sql: 'SELECT 1' });
    assert.notEqual(throughGateway.code, 0);
    assert.match(
      throughGateway.stderr,
      /unencrypted connections are not allowed to database "postgres"/,
    );

    assert.equal(
      await psqlOk({ conninfo: env.conninfo(), sql: "SELECT current_setting('pgtunnel.ssl')" }),
      'on',
    );
    assert.equal(await psqlOk({ conninfo: directTls(), sql: 'SELECT 1' }), '1');

    // The documented way back in.
    assert.equal(
      await psqlOk({
        conninfo: directSocket(),
        env: { PGOPTIONS: '-c event_triggers=off' },
        sql: 'SELECT 1',
      }),
      '1',
    );
  });
});
