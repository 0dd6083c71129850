// Reload (SIGHUP, `pgtunnel reload`, watch_files): a broken certificate or rules file keeps
// the old configuration serving; a good one applies to new connections while open sessions
// stay; reloads under pgbench load lose no session.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { psqlOk, runPgbench, runPsql } from '../helpers/clients.js';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';
import { presentedSerial } from '../helpers/peer-certificate.js';
import { cliArgs } from '../helpers/pgtunnel-process.js';
import { run } from '../helpers/run.js';

const serialOf = (file: string) => new X509Certificate(readFileSync(file)).serialNumber;

describe('serve: reload', () => {
  let env: GatewayEnv;
  let certFile: string;
  let keyFile: string;
  let hbaFile: string;
  let pidFile: string;
  let configFile: string;
  const isReloadOutcome = (r: Record<string, unknown>) =>
    r.msg === 'configuration reloaded' || String(r.msg).startsWith('reload failed');
  const reloadsSoFar = () => env.gateway.logs().filter(isReloadOutcome).length;
  /** Sends SIGHUP and returns the outcome record of the reload (watch_files may add more). */
  const sighupAndWait = async () => {
    const before = reloadsSoFar();
    env.gateway.child.kill('SIGHUP');
    while (reloadsSoFar() === before) await delay(50);
    assert.ok(reloadsSoFar() > before, 'no reload outcome was logged');
    return env.gateway.logs().filter(isReloadOutcome)[before];
  };

  before(async () => {
    env = await startGatewayEnv({
      configFile: ({ pki, dir }) => {
        certFile = join(dir, 'server.crt');
        keyFile = join(dir, 'server.key');
        hbaFile = join(dir, 'pg_hba.conf');
        pidFile = join(dir, 'pgtunnel.pid');
        configFile = join(dir, 'pgtunnel.conf');
        copyFileSync(pki.serverCert, certFile);
        copyFileSync(pki.serverKey, keyFile);
        writeFileSync(hbaFile, 'local all all trust\nhostssl all all 127.0.0.1/32 trust\n');
        return `ssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nhba_file = 'pg_hba.conf'\npid_file = 'pgtunnel.pid'\nwatch_files = on\n`;
      },
    });
  });
  after(async () => {
    await env?.close();
  });

  it('keeps serving the old certificate when the new one is broken', async () => {
    const original = await presentedSerial(env.port, env.pki.caBundle);
    writeFileSync(
      certFile,
      '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n',
    );
    const record = await sighupAndWait();
    assert.match(String(record?.msg), /reload failed; the previous configuration stays in effect/);
    assert.match(String(record?.err), /could not load server certificate file/);
    assert.equal(await presentedSerial(env.port, env.pki.caBundle), original);
    assert.equal(await psqlOk({ conninfo: env.conninfo(), sql: 'SELECT 1' }), '1');
  });

  it('serves a new certificate after `pgtunnel reload`, open sessions untouched', async () => {
    const open = new pg.Client({
      host: 'localhost',
      port: env.port,
      user: 'postgres',
      database: 'postgres',
      ssl: { ca: readFileSync(env.pki.caBundle), servername: 'localhost' },
    });
    await open.connect();
    const fresh = await env.pki.otherServer({
      cn: 'localhost',
      sans: ['DNS:localhost', 'IP:127.0.0.1'],
    });
    copyFileSync(fresh.cert, certFile);
    copyFileSync(fresh.key, keyFile);
    const before = reloadsSoFar();
    const signaled = await run(process.execPath, cliArgs(['reload', '--pid-file', pidFile]));
    assert.equal(signaled.code, 0, signaled.stderr);
    while (reloadsSoFar() === before) await delay(50);
    assert.equal(await presentedSerial(env.port, env.pki.caBundle), serialOf(fresh.cert));
    assert.equal((await open.query('SELECT 5 AS n')).rows[0].n, 5);
    await open.end();
  });

  it('keeps the old rules when the new hba file is invalid, applies a valid one', async () => {
    const rules = (last: string) =>
      `local all all trust\nhostssl all nobody 127.0.0.1/32 reject\nhostssl all all 127.0.0.1/32 ${last}\n`;
    const nobody = env.conninfo('user=nobody');
    const rejectsNobody =
      /FATAL: {2}pg_hba\.conf rejects connection for host "127\.0\.0\.1", user "nobody"/;
    writeFileSync(hbaFile, rules('trust'));
    await sighupAndWait();
    assert.match((await runPsql({ conninfo: nobody })).stderr, rejectsNobody);

    writeFileSync(hbaFile, 'hostssl all all 127.0.0.1/32 ldap\n');
    const failed = await sighupAndWait();
    assert.match(String(failed?.err), /pg_hba\.conf:1/);
    // The previous rules, not the built-in ones (which would let "nobody" reach PostgreSQL).
    assert.match((await runPsql({ conninfo: nobody })).stderr, rejectsNobody);
    assert.equal(await psqlOk({ conninfo: env.conninfo(), sql: 'SELECT 1' }), '1');

    writeFileSync(hbaFile, rules('reject'));
    await sighupAndWait();
    const refused = await runPsql({ conninfo: env.conninfo() });
    assert.match(refused.stderr, /pg_hba\.conf rejects connection for host "127\.0\.0\.1"/);
    writeFileSync(hbaFile, 'local all all trust\nhostssl all all 127.0.0.1/32 trust\n');
    await sighupAndWait();
  });

  it('keeps serving when a reload finds a broken CA file', async () => {
    const caFile = join(env.dir, 'ca.crt');
    copyFileSync(env.pki.caBundle, caFile);
    const config = readFileSync(configFile, 'utf8');
    writeFileSync(configFile, `${config}ssl_ca_file = 'ca.crt'\n`);
    const applied = await sighupAndWait();
    assert.equal(applied?.msg, 'configuration reloaded');
    writeFileSync(caFile, 'not a certificate\n');
    const failed = await sighupAndWait();
    assert.match(String(failed?.msg), /reload failed; the previous configuration stays in effect/);
    assert.match(
      String(failed?.err),
      /could not load root certificate file ".*ca\.crt": no certificate/,
    );
    assert.equal(await psqlOk({ conninfo: env.conninfo(), sql: 'SELECT 1' }), '1');
    writeFileSync(configFile, config);
    await sighupAndWait();
  });

  it('picks up a certificate replaced on disk (watch_files), as certbot does', async () => {
    const fresh = await env.pki.otherServer({ cn: 'localhost', sans: ['DNS:localhost'] });
    // Atomic replacement: write beside, then rename over the old files.
    copyFileSync(fresh.key, `${keyFile}.new`);
    copyFileSync(fresh.cert, `${certFile}.new`);
    renameSync(`${keyFile}.new`, keyFile);
    renameSync(`${certFile}.new`, certFile);
    const expected = serialOf(fresh.cert);
    let served = '';
    while (served !== expected) {
      await delay(100);
      served = await presentedSerial(env.port, env.pki.caBundle);
    }
    assert.equal(served, expected);
  });

  it('follows a Kubernetes secret volume: a swapped `..data` symlink (watch_files)', async () => {
    // A secret volume as the kubelet lays it out: files are links through `..data`.
    const volume = join(env.dir, 'tls-volume');
    const publish = async (version: string) => {
      const fresh = await env.pki.otherServer({ cn: 'localhost', sans: ['DNS:localhost'] });
      mkdirSync(join(volume, version), { recursive: true });
      copyFileSync(fresh.cert, join(volume, version, 'tls.crt'));
      copyFileSync(fresh.key, join(volume, version, 'tls.key'));
      chmodSync(join(volume, version, 'tls.key'), 0o600);
      symlinkSync(version, join(volume, '..data_tmp'));
      renameSync(join(volume, '..data_tmp'), join(volume, '..data'));
      return serialOf(fresh.cert);
    };
    const servedBecomes = async (expected: string) => {
      let served = '';
      while (served !== expected) {
        await delay(100);
        served = await presentedSerial(env.port, env.pki.caBundle);
      }
      assert.equal(served, expected);
    };
    const first = await publish('..2024_01_01');
    symlinkSync('..data/tls.crt', join(volume, 'tls.crt'));
    symlinkSync('..data/tls.key', join(volume, 'tls.key'));
    // Point the configuration at the volume: the watcher follows the new paths after reloading.
    const config = readFileSync(configFile, 'utf8');
    writeFileSync(
      configFile,
      config
        .replace("ssl_cert_file = 'server.crt'", "ssl_cert_file = 'tls-volume/tls.crt'")
        .replace("ssl_key_file = 'server.key'", "ssl_key_file = 'tls-volume/tls.key'"),
    );
    await servedBecomes(first);
    const second = await publish('..2024_02_01');
    rmSync(join(volume, '..2024_01_01'), { recursive: true });
    await servedBecomes(second);
    writeFileSync(configFile, config);
    await servedBecomes(serialOf(certFile));
  });

  it('loses no session while reloading repeatedly under pgbench load', async () => {
    const init = await runPgbench({ conninfo: env.conninfo(), args: ['-i', '-s', '1', '-q'] });
    assert.equal(init.code, 0, init.stderr);
    const bench = runPgbench({
      conninfo: env.conninfo(),
      args: ['-S', '-c', '4', '-j', '2', '-T', '6', '-n'],
    });
    const benchConnecting = runPgbench({
      conninfo: env.conninfo(),
      args: ['-S', '-C', '-c', '2', '-j', '1', '-T', '6', '-n'],
    });
    const before = env.gateway.logs().filter(isReloadOutcome).length;
    for (let i = 0; i < 10; i++) {
      await delay(400);
      env.gateway.child.kill('SIGHUP');
    }
    for (const result of [await bench, await benchConnecting]) {
      assert.equal(result.code, 0, result.stderr);
      assert.doesNotMatch(result.stderr, /error|FATAL/i);
      assert.match(result.stdout, /number of failed transactions: 0/);
    }
    // Every SIGHUP really swapped in a new configuration while the sessions ran.
    const outcomes = env.gateway.logs().filter(isReloadOutcome).slice(before);
    assert.ok(outcomes.length >= 10, `only ${outcomes.length} reloads`);
    assert.ok(outcomes.every((r) => r.msg === 'configuration reloaded'));
  });
});
