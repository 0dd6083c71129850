// Reload (SIGHUP, `pgtunnel reload`, watch_files): a broken certificate or rules file keeps
// the old configuration serving; a good one applies to new connections while open sessions
// stay; reloads under pgbench load lose no session.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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
  const reloadsSoFar = () =>
    env.gateway
      .logs()
      .filter(
        (r) => r.msg === 'configuration reloaded' || String(r.msg).startsWith('reload failed'),
      ).length;
  const sighupAndWait = async () => {
    const before = reloadsSoFar();
    env.gateway.child.kill('SIGHUP');
    for (let i = 0; i < 100 && reloadsSoFar() === before; i++) await delay(50);
    assert.ok(reloadsSoFar() > before, 'no reload outcome was logged');
    return env.gateway.logs().at(-1);
  };

  before(async () => {
    env = await startGatewayEnv({
      configFile: ({ pki, dir }) => {
        certFile = join(dir, 'server.crt');
        keyFile = join(dir, 'server.key');
        hbaFile = join(dir, 'pg_hba.conf');
        pidFile = join(dir, 'pgtunnel.pid');
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
    for (let i = 0; i < 100 && reloadsSoFar() === before; i++) await delay(50);
    assert.equal(await presentedSerial(env.port, env.pki.caBundle), serialOf(fresh.cert));
    assert.equal((await open.query('SELECT 5 AS n')).rows[0].n, 5);
    await open.end();
  });

  it('keeps the old rules when the new hba file is invalid, applies a valid one', async () => {
    writeFileSync(hbaFile, 'hostssl all all 127.0.0.1/32 ldap\n');
    const failed = await sighupAndWait();
    assert.match(String(failed?.err), /pg_hba\.conf:1/);
    assert.equal(await psqlOk({ conninfo: env.conninfo(), sql: 'SELECT 1' }), '1');
    writeFileSync(hbaFile, 'local all all trust\nhostssl all all 127.0.0.1/32 reject\n');
    await sighupAndWait();
    const refused = await runPsql({ conninfo: env.conninfo() });
    assert.match(refused.stderr, /pg_hba\.conf rejects connection for host "127\.0\.0\.1"/);
    writeFileSync(hbaFile, 'local all all trust\nhostssl all all 127.0.0.1/32 trust\n');
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
    for (let i = 0; i < 60 && served !== expected; i++) {
      await delay(100);
      served = await presentedSerial(env.port, env.pki.caBundle);
    }
    assert.equal(served, expected);
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
    for (let i = 0; i < 10; i++) {
      await delay(400);
      env.gateway.child.kill('SIGHUP');
    }
    for (const result of [await bench, await benchConnecting]) {
      assert.equal(result.code, 0, result.stderr);
      assert.doesNotMatch(result.stderr, /error|FATAL/i);
      assert.match(result.stdout, /number of failed transactions: 0/);
    }
  });
});
