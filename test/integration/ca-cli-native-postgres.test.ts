// `pgtunnel ca` end to end against a native PostgreSQL with ssl=on: the CLI makes a CA, a server
// certificate and a libpq client certificate; psql connects with sslmode=verify-full and `cert`
// authentication; a revocation by the CLI is then enforced by PostgreSQL.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { caOk, openssl } from '../helpers/ca-cli.js';
import { runPsql } from '../helpers/clients.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';

const HBA = [
  'local all all trust',
  'hostssl all all 127.0.0.1/32 cert',
  'host all all 127.0.0.1/32 reject',
  '',
].join('\n');

describe('pgtunnel ca with a native PostgreSQL (ssl=on, cert authentication)', () => {
  let work: string;
  let caDir: string;
  let home: string;
  let cluster: Cluster | undefined;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'pgtunnel-ca-native-'));
    caDir = join(work, 'ca');
    home = join(work, 'home');
    await caOk(['init', '--ca-dir', caDir]);
    await caOk(['intermediate', '--ca-dir', caDir]);
    await caOk([
      'issue',
      'server',
      '--ca-dir',
      caDir,
      '--cn',
      'localhost',
      '--san',
      'IP:127.0.0.1',
      '--cert-file',
      join(work, 'server.crt'),
      '--key-file',
      join(work, 'server.key'),
    ]);
    // --libpq without a directory writes into $HOME/.postgresql, where libpq looks by default.
    await caOk(['issue', 'client', '--ca-dir', caDir, '--cn', 'alice', '--libpq'], {
      env: { HOME: home },
    });
    cluster = await startCluster({
      ssl: {
        certFile: join(work, 'server.crt'),
        keyFile: join(work, 'server.key'),
        caFile: join(caDir, 'ca-bundle.crt'),
        crlFile: join(caDir, 'crl-bundle.pem'),
      },
      hba: HBA,
    });
    await cluster.sql('CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN');
  });

  after(async () => {
    await cluster?.stop();
    await rm(work, { recursive: true, force: true });
  });

  /** psql as `user` using libpq's default files under $HOME/.postgresql. */
  function psqlAs(user: string, options: { host?: string; env?: Record<string, string> } = {}) {
    return runPsql({
      conninfo: `host=${options.host ?? 'localhost'} hostaddr=127.0.0.1 port=${cluster!.port} dbname=postgres user=${user} sslmode=verify-full`,
      sql: 'SELECT current_user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
      // Empty PGSSLCERT/PGSSLKEY make libpq fall back to ~/.postgresql/postgresql.{crt,key}.
      env: { HOME: home, PGSSLCERT: '', PGSSLKEY: '', ...options.env },
    });
  }

  it('produces files that openssl verifies, CRLs included', async () => {
    const pq = join(home, '.postgresql');
    for (const [cert, purpose] of [
      [join(work, 'server.crt'), 'sslserver'],
      [join(pq, 'postgresql.crt'), 'sslclient'],
    ] as const) {
      const result = await openssl([
        'verify',
        '-CAfile',
        join(caDir, 'root', 'ca.crt'),
        '-untrusted',
        join(caDir, 'intermediate', 'ca.crt'),
        '-purpose',
        purpose,
        '-crl_check_all',
        '-CRLfile',
        join(caDir, 'crl-bundle.pem'),
        cert,
      ]);
      assert.equal(result.code, 0, `${cert}: ${result.stdout}${result.stderr}`);
    }
    for (const level of ['root', 'intermediate']) {
      const crl = await openssl([
        'crl',
        '-in',
        join(caDir, level, 'crl.pem'),
        '-CAfile',
        join(caDir, 'ca-bundle.crt'),
        '-noout',
      ]);
      assert.equal(crl.code, 0, crl.stderr);
      assert.match(crl.stderr + crl.stdout, /verify OK/);
    }
  });

  it('lets psql in with verify-full and the client certificate from ~/.postgresql', async () => {
    const result = await psqlAs('alice');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'alice|t');
  });

  it('refuses a certificate for another user, a wrong host name and an untrusted CA', async () => {
    const asBob = await psqlAs('bob');
    assert.notEqual(asBob.code, 0);
    assert.match(asBob.stderr, /certificate authentication failed for user "bob"/);

    const wrongHost = await psqlAs('alice', { host: 'db.invalid' });
    assert.notEqual(wrongHost.code, 0);
    assert.match(wrongHost.stderr, /does not match host name "db.invalid"/);

    const otherCa = join(work, 'other-ca');
    await caOk(['init', '--ca-dir', otherCa]);
    await caOk(['intermediate', '--ca-dir', otherCa]);
    const strangerCert = join(work, 'stranger.crt');
    const strangerKey = join(work, 'stranger.key');
    await caOk([
      'issue',
      'client',
      '--ca-dir',
      otherCa,
      '--cn',
      'alice',
      '--cert-file',
      strangerCert,
      '--key-file',
      strangerKey,
    ]);
    const stranger = await psqlAs('alice', {
      env: { PGSSLCERT: strangerCert, PGSSLKEY: strangerKey },
    });
    assert.notEqual(stranger.code, 0);
    assert.match(stranger.stderr, /alert unknown ca/);
  });

  it('enforces a revocation made by `pgtunnel ca revoke` once PostgreSQL reloads the CRL', async () => {
    const pq = join(home, '.postgresql');
    const revoked = await caOk(['revoke', '--ca-dir', caDir, join(pq, 'postgresql.crt')]);
    assert.match(revoked, /revoked client certificate [0-9a-f]+ \(CN=alice\)/);
    await cluster!.setSsl({
      certFile: join(work, 'server.crt'),
      keyFile: join(work, 'server.key'),
      caFile: join(caDir, 'ca-bundle.crt'),
      crlFile: join(caDir, 'crl-bundle.pem'),
    });
    const result = await psqlAs('alice');
    assert.notEqual(result.code, 0, 'a revoked certificate must not log in');
    assert.match(result.stderr, /alert certificate revoked/);

    // A renewed certificate for the same user works again.
    await caOk(['renew', '--ca-dir', caDir, join(pq, 'postgresql.crt'), '--libpq', '--force'], {
      env: { HOME: home },
    });
    const renewed = await psqlAs('alice');
    assert.equal(renewed.code, 0, renewed.stderr);
    assert.equal(renewed.stdout.trim(), 'alice|t');
  });
});
