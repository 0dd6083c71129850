// Listening like PostgreSQL (IPv4, IPv6, a unix socket directory for `psql -h DIR`) and the
// TLS settings named as in postgresql.conf: ssl_min/max_protocol_version and ssl_ciphers.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { psqlOk, runPsql } from '../helpers/clients.js';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';

describe('serve: listeners', () => {
  let env: GatewayEnv;
  let socketDir: string;
  before(async () => {
    socketDir = mkdtempSync(join(tmpdir(), 'pgtunnel-sock-'));
    env = await startGatewayEnv({
      serveArgs: [
        '--listen-addresses',
        '127.0.0.1,::1',
        '-k',
        socketDir,
        '--unix-socket-permissions',
        '0770',
      ],
    });
  });
  after(async () => {
    await env?.close();
    rmSync(socketDir, { recursive: true, force: true });
  });

  it('serves psql -h DIR over its unix socket (local, no TLS), with the configured mode', async () => {
    const socketPath = join(socketDir, `.s.PGSQL.${env.port}`);
    assert.equal(statSync(socketPath).mode & 0o777, 0o770);
    const out = await psqlOk({
      conninfo: `host=${socketDir} port=${env.port} user=postgres dbname=postgres`,
      sql: "SELECT 'via-socket'",
    });
    assert.equal(out, 'via-socket');
  });

  it('serves IPv6 (::1) with verify-full', async () => {
    const out = await psqlOk({
      conninfo: `host=::1 port=${env.port} user=postgres dbname=postgres sslmode=verify-full sslrootcert=${env.pki.caBundle}`,
      sql: 'SELECT 6',
    });
    assert.equal(out, '6');
  });

  it('removes its unix socket on shutdown', async () => {
    await env.gateway.stop('SIGTERM');
    assert.throws(() => statSync(join(socketDir, `.s.PGSQL.${env.port}`)));
    await env.restart();
  });
});

describe('serve: TLS protocol versions and ciphers', () => {
  let env: GatewayEnv;
  before(async () => {
    env = await startGatewayEnv({ serveArgs: ['--ssl-min-protocol-version', 'TLSv1.3'] });
  });
  after(async () => {
    await env?.close();
  });

  it('refuses a client limited to TLS 1.2 when ssl_min_protocol_version is TLSv1.3', async () => {
    const result = await runPsql({ conninfo: env.conninfo('ssl_max_protocol_version=TLSv1.2') });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /SSL error: .*(protocol version|alert)/i);
  });

  it('negotiates TLS 1.2 with the only cipher ssl_ciphers allows', async () => {
    await env.restart([
      '--ssl-min-protocol-version',
      'TLSv1.2',
      '--ssl-max-protocol-version',
      'TLSv1.2',
      '--ssl-ciphers',
      'ECDHE-ECDSA-AES128-GCM-SHA256',
    ]);
    const out = await psqlOk({ conninfo: env.conninfo(), args: ['-X', '-c', '\\conninfo'] });
    assert.match(out, /protocol: TLSv1\.2, cipher: ECDHE-ECDSA-AES128-GCM-SHA256/);
  });
});
