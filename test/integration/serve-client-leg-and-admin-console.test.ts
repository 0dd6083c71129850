// The client leg told to the server (pgtunnel.* settings read with current_setting() in a real
// PostgreSQL session), forged pgtunnel.* settings refused, and the psql admin console (virtual
// database `pgtunnel`): SHOW SSL lists a live session with its backend_pid, SHOW SESSIONS,
// SHOW CERTIFICATES, SHOW CONFIG, SHOW VERSION, RELOAD and errors with SQLSTATEs, in psql and
// node-postgres.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { encodeStartupMessage } from '../../src/protocol/frontend.js';
import { certificateNames } from '../../src/tls/distinguished-name.js';
import { psqlOk, runPsql } from '../helpers/clients.js';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';
import { collect, errorFields, openRaw } from '../helpers/raw-client.js';

describe('serve: the client leg told to the server, and the admin console', () => {
  let env: GatewayEnv;
  let alice: { cert: string; key: string };
  let aliceDn: string;
  let aliceSerial: string;
  const open: pg.Client[] = [];

  /** Plaintext TCP to the gateway (the hba file allows it) for these conninfo parameters. */
  const plaintext = (extra = '') =>
    `host=127.0.0.1 port=${env.port} user=postgres dbname=postgres sslmode=disable ${extra}`;
  const withAlice = (extra = '') =>
    env.conninfo(`sslcert=${alice.cert} sslkey=${alice.key} ${extra}`);

  before(async () => {
    env = await startGatewayEnv({
      configFile: ({ pki, dir }) => {
        writeFileSync(
          join(dir, 'pg_hba.conf'),
          'hostssl pgtunnel dave 127.0.0.1/32 reject\nhostssl all all 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 trust\n',
        );
        return [
          `ssl_ca_file = '${pki.caBundle}'`,
          "hba_file = 'pg_hba.conf'",
          "admin_users = 'postgres, watcher, carol, dave'",
          '',
        ].join('\n');
      },
    });
    alice = await env.pki.client('alice');
    const names = certificateNames(new X509Certificate(readFileSync(alice.cert)));
    aliceDn = names.subjectDn;
    aliceSerial = BigInt(
      `0x${new X509Certificate(readFileSync(alice.cert)).serialNumber}`,
    ).toString(10);
    await env.cluster.sql(
      "CREATE ROLE bob LOGIN; CREATE ROLE watcher LOGIN; CREATE ROLE dave LOGIN; SET password_encryption = 'scram-sha-256'; CREATE ROLE carol LOGIN PASSWORD 'carol-secret'",
    );
  });
  after(async () => {
    await Promise.all(open.splice(0).map((client) => client.end().catch(() => {})));
    await env?.close();
  });

  it('psql through the gateway reads TLSv1.3 and its own client DN in current_setting()', async () => {
    const out = await psqlOk({
      conninfo: withAlice(),
      sql: "SELECT current_setting('pgtunnel.ssl'), current_setting('pgtunnel.ssl_version'), current_setting('pgtunnel.ssl_client_dn'), current_setting('pgtunnel.ssl_client_serial'), current_setting('pgtunnel.client_addr'), current_setting('pgtunnel.ssl_cipher') <> '', (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())",
    });
    // The server's own view of the (unix socket) leg says no TLS: the report is the truth.
    assert.equal(out, `on|TLSv1.3|${aliceDn}|${aliceSerial}|127.0.0.1|t|f`);
  });

  it('a plaintext session reads pgtunnel.ssl = off', async () => {
    const out = await psqlOk({
      conninfo: plaintext(),
      sql: "SELECT current_setting('pgtunnel.ssl'), current_setting('pgtunnel.ssl_version'), current_setting('pgtunnel.client_port') ~ '^[0-9]+$'",
    });
    assert.equal(out, 'off||t');
  });

  it('a forged pgtunnel.ssl=on from a plaintext client does not survive (options)', async () => {
    for (const options of [
      '-c pgtunnel.ssl=on',
      '--pgtunnel.ssl=on',
      '-c PGTUNNEL.SSL_CLIENT_DN=CN\\=admin',
    ]) {
      const result = await runPsql({
        conninfo: plaintext(),
        env: { PGOPTIONS: options },
        sql: "SELECT current_setting('pgtunnel.ssl')",
      });
      assert.notEqual(result.code, 0, `${options}: ${result.stdout}`);
      assert.match(
        result.stderr,
        /permission denied to set parameter "pgtunnel\.ssl(_client_dn)?"/i,
        options,
      );
      assert.doesNotMatch(result.stdout, /\bon\b/);
    }
  });

  it('a forged pgtunnel.ssl=on startup parameter is refused with 42501', async () => {
    const socket = await openRaw(env.port);
    const reply = collect(socket);
    socket.write(
      encodeStartupMessage([
        ['user', 'postgres'],
        ['database', 'postgres'],
        ['pgtunnel.ssl', 'on'],
      ]),
    );
    const fields = errorFields((await reply).bytes);
    assert.equal(fields?.get('C'), '42501');
    assert.equal(fields?.get('M'), 'permission denied to set parameter "pgtunnel.ssl"');
    socket.destroy();
  });

  it('psql -d pgtunnel -c "SHOW SSL" lists a live session with its backend_pid', async () => {
    const client = new pg.Client({
      connectionString: undefined,
      host: 'localhost',
      port: env.port,
      user: 'postgres',
      database: 'postgres',
      application_name: 'live-session',
      ssl: {
        ca: readFileSync(env.pki.caBundle),
        cert: readFileSync(alice.cert),
        key: readFileSync(alice.key),
        servername: 'localhost',
      },
    });
    client.on('error', () => {});
    await client.connect();
    open.push(client);
    const pid = Number((await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);

    const out = await psqlOk({
      conninfo: env.conninfo('dbname=pgtunnel'),
      args: ['-X', '-A', '-F', '|', '-c', 'SHOW SSL'],
    });
    const [header, ...rows] = out.split('\n');
    assert.equal(
      header,
      'backend_pid|client_addr|client_port|user|database|ssl|version|cipher|bits|client_dn|client_serial|issuer_dn',
    );
    const row = rows.find((line) => line.startsWith(`${pid}|`));
    assert.ok(row, `no row for backend ${pid}:\n${out}`);
    const cells = row.split('|');
    assert.equal(cells[1], '127.0.0.1');
    assert.equal(cells[3], 'postgres');
    assert.equal(cells[4], 'postgres');
    assert.equal(cells[5], 't');
    assert.equal(cells[6], 'TLSv1.3');
    assert.equal(cells[9], aliceDn);
    assert.equal(cells[10], aliceSerial);
    // The backend pid joins pg_stat_activity on the server.
    const app = await env.cluster.sql(
      `SELECT application_name FROM pg_stat_activity WHERE pid = ${pid}`,
    );
    assert.equal(app.trim(), 'live-session');
  });

  it('SHOW SESSIONS, SHOW CERTIFICATES, SHOW CONFIG and SHOW VERSION answer in psql', async () => {
    const console = (sql: string) =>
      psqlOk({
        conninfo: env.conninfo('dbname=pgtunnel'),
        args: ['-X', '-A', '-t', '-F', '|', '-c', sql],
      });
    const sessions = await console('SHOW SESSIONS');
    assert.match(sessions, /\|pgtunnel\|/, 'the console session itself is listed');
    assert.match(sessions, /\|live-session\|/);
    const certificates = (await console('SHOW CERTIFICATES')).split('\n');
    const served = certificates.find((line) => line.startsWith('served|'));
    assert.ok(served, certificates.join('\n'));
    const servedCert = new X509Certificate(readFileSync(env.pki.serverCert));
    assert.equal(served.split('|')[4], BigInt(`0x${servedCert.serialNumber}`).toString(10));
    assert.ok(Number(served.split('|')[6]) > 300, served);
    assert.ok(certificates.filter((line) => line.startsWith('ca|')).length >= 2);
    const config = await console('SHOW CONFIG');
    assert.match(config, /^admin_users\|postgres,watcher,carol,dave\|\|t$/m);
    assert.match(config, /^port\|\d+\|6432\|f$/m);
    assert.equal(await console('SHOW VERSION'), 'pgtunnel 0.1.0');
    assert.equal(await console('show   version ;'), 'pgtunnel 0.1.0');
  });

  it('RELOAD reloads; unknown commands are errors with SQLSTATE, the session goes on', async () => {
    const result = await runPsql({
      conninfo: env.conninfo('dbname=pgtunnel'),
      args: [
        '-X',
        '-A',
        '-t',
        '-v',
        'VERBOSITY=verbose',
        '-c',
        'RELOAD',
        '-c',
        'SHOW NOTHING',
        '-c',
        'SELECT 1',
        '-c',
        'SHOW VERSION',
      ],
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^RELOAD$/m);
    assert.match(result.stderr, /ERROR:\s+42704: unrecognized SHOW command "NOTHING"/);
    assert.match(
      result.stderr,
      /ERROR:\s+42601: syntax error: the admin console does not run "SELECT 1"/,
    );
    assert.match(result.stdout, /pgtunnel 0\.1\.0/);
    await env.gateway.waitForLog('configuration reloaded');
  });

  it('works with node-postgres: rows, typed columns and error codes', async () => {
    const client = new pg.Client({
      host: 'localhost',
      port: env.port,
      user: 'watcher',
      database: 'pgtunnel',
      ssl: { ca: readFileSync(env.pki.caBundle), servername: 'localhost' },
    });
    await client.connect();
    try {
      const ssl = await client.query('SHOW SSL');
      assert.ok(
        ssl.fields.some((field) => field.name === 'backend_pid' && field.dataTypeID === 23),
      );
      const live = ssl.rows.find((row) => row.backend_pid !== null && row.version === 'TLSv1.3');
      assert.ok(live, JSON.stringify(ssl.rows));
      assert.equal(typeof live.backend_pid, 'number');
      assert.equal(live.ssl, true);
      await assert.rejects(
        client.query('SHOW SOMETHING'),
        (error: { code?: string }) => error.code === '42704',
      );
      // A prepared statement means the extended protocol, which the console refuses with 0A000.
      await assert.rejects(
        client.query({ name: 'prepared', text: 'SHOW SSL' }),
        (error: { code?: string }) => error.code === '0A000',
      );
      assert.equal((await client.query('SHOW VERSION')).rows[0].version, 'pgtunnel 0.1.0');
    } finally {
      await client.end();
    }
  });

  it('a user outside admin_users is refused as PostgreSQL refuses CONNECT (42501)', async () => {
    const result = await runPsql({
      conninfo: env.conninfo('user=bob dbname=pgtunnel'),
      sql: 'SHOW SSL',
    });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /permission denied for database "pgtunnel"/);
    assert.match(result.stderr, /User "bob" is not listed in admin_users/);
  });

  it('tells who is in admin_users only to a user who has logged in, as PostgreSQL checks CONNECT', async () => {
    await env.cluster.setHba(
      'local all bob scram-sha-256\nlocal all all trust\nhost all all 127.0.0.1/32 trust\n',
    );
    try {
      const result = await runPsql({
        conninfo: env.conninfo('user=bob dbname=pgtunnel'),
        env: { PGPASSWORD: 'wrong' },
        sql: 'SHOW SSL',
      });
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /password authentication failed for user "bob"/);
      assert.doesNotMatch(result.stderr, /admin_users/);
    } finally {
      await env.cluster.setHba('local all all trust\nhost all all 127.0.0.1/32 trust\n');
    }
  });

  it('the hba rules apply to the console like to any database', async () => {
    const result = await runPsql({ conninfo: env.conninfo('user=dave dbname=pgtunnel') });
    assert.notEqual(result.code, 0);
    assert.match(
      result.stderr,
      /pg_hba\.conf rejects connection for host "127\.0\.0\.1", user "dave", database "pgtunnel"/,
    );
  });

  it("the upstream server checks a console user's password (SCRAM), as PgBouncer checks its auth source", async () => {
    await env.cluster.setHba(
      'local all carol scram-sha-256\nlocal all all trust\nhost all all 127.0.0.1/32 trust\n',
    );
    try {
      const wrong = await runPsql({
        conninfo: env.conninfo('user=carol dbname=pgtunnel'),
        env: { PGPASSWORD: 'wrong' },
        sql: 'SHOW VERSION',
      });
      assert.notEqual(wrong.code, 0);
      assert.match(wrong.stderr, /password authentication failed for user "carol"/);
      const right = await psqlOk({
        conninfo: env.conninfo('user=carol dbname=pgtunnel'),
        env: { PGPASSWORD: 'carol-secret' },
        sql: 'SHOW VERSION',
      });
      assert.equal(right, 'pgtunnel 0.1.0');
    } finally {
      await env.cluster.setHba('local all all trust\nhost all all 127.0.0.1/32 trust\n');
    }
  });

  it('with client_leg_parameters = off nothing is added and pgtunnel.* passes through', async () => {
    // Sessions left open by the tests above would hold the smart shutdown of the restart.
    await Promise.all(open.splice(0).map((client) => client.end().catch(() => {})));
    await env.restart(['--client-leg-parameters', 'off']);
    const out = await psqlOk({
      conninfo: plaintext(),
      env: { PGOPTIONS: '-c pgtunnel.ssl=from-client' },
      sql: "SELECT current_setting('pgtunnel.ssl'), current_setting('pgtunnel.ssl_version', true) IS NULL",
    });
    assert.equal(out, 'from-client|t');
  });
});

describe('serve: the admin console with two workers', () => {
  let env: GatewayEnv;
  const open: pg.Client[] = [];

  before(async () => {
    env = await startGatewayEnv({ serveArgs: ['--workers', '2', '--admin-users', 'postgres'] });
  });
  after(async () => {
    await Promise.all(open.splice(0).map((client) => client.end().catch(() => {})));
    await env?.close();
  });

  it('SHOW SSL and SHOW SESSIONS list the sessions of every worker; RELOAD reloads them all', async () => {
    const console = (sql: string) =>
      psqlOk({
        conninfo: env.conninfo('dbname=pgtunnel'),
        args: ['-X', '-A', '-t', '-F', '|', '-c', sql],
      });
    /** The pids of the workers holding sessions of user postgres, from SHOW SESSIONS. */
    const workersWithSessions = async () => {
      const sessions = (await console('SHOW SESSIONS')).split('\n');
      return {
        sessions,
        workers: new Set(
          sessions
            .filter((line) => line.split('|')[6] === 'postgres')
            .map((line) => line.split('|')[1]),
        ),
      };
    };
    // Workers accept from the shared socket as each is free, not in turn: hold sessions until
    // both workers serve some (a worker that never accepts would not).
    const pids: number[] = [];
    for (let i = 0; i < 40 && (i < 4 || (await workersWithSessions()).workers.size < 2); i++) {
      const client = new pg.Client({
        host: 'localhost',
        port: env.port,
        user: 'postgres',
        database: 'postgres',
        ssl: { ca: readFileSync(env.pki.caBundle), servername: 'localhost' },
      });
      client.on('error', () => {});
      await client.connect();
      open.push(client);
      pids.push(Number((await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid));
    }
    const ssl = await console('SHOW SSL');
    for (const pid of pids) assert.match(ssl, new RegExp(`^${pid}\\|`, 'm'), `backend ${pid}`);
    const { sessions, workers } = await workersWithSessions();
    assert.equal(workers.size, 2, `sessions in both workers:\n${sessions.join('\n')}`);

    const reloadsBefore = env.gateway
      .logs()
      .filter((r) => r.msg === 'configuration reloaded').length;
    assert.equal(await console('RELOAD'), 'RELOAD');
    // Each worker logs its reload before the main process answers RELOAD; the lines may
    // reach this process a little after psql's output.
    const reloads = () => env.gateway.logs().filter((r) => r.msg === 'configuration reloaded');
    while (reloads().length - reloadsBefore < 2) await new Promise((r) => setTimeout(r, 20));
    assert.equal(
      new Set(
        reloads()
          .slice(reloadsBefore)
          .map((r) => r.pid),
      ).size,
      2,
    );
  });
});
