// With several worker processes, each serves connections, a TLS session ticket issued
// by one worker resumes on another (they share ticket keys), and a reload reaches every
// worker while a broken one reaches none.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { TLSSocket } from 'node:tls';
import { psqlOk } from '../helpers/clients.js';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';
import { presentedSerial } from '../helpers/peer-certificate.js';
import { openTlsSession } from '../helpers/raw-client.js';

/** SSLRequest + TLS handshake, optionally resuming `session`. */
function tlsToGateway(env: GatewayEnv, session?: Buffer): Promise<TLSSocket> {
  return openTlsSession(env.port, env.pki.caBundle, {
    alpn: ['postgresql'],
    ...(session ? { session } : {}),
  });
}

describe('serve: workers', () => {
  let env: GatewayEnv;
  let certFile: string;
  let keyFile: string;
  before(async () => {
    env = await startGatewayEnv({
      serveArgs: ['--workers', '2', '--log-connections', 'on'],
      configFile: ({ pki, dir }) => {
        certFile = join(dir, 'server.crt');
        keyFile = join(dir, 'server.key');
        copyFileSync(pki.serverCert, certFile);
        copyFileSync(pki.serverKey, keyFile);
        return "ssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n";
      },
    });
  });
  after(async () => {
    await env?.close();
  });

  it('serves sessions in both workers, none in the primary', async () => {
    const servedBy = () =>
      new Set(
        env.gateway
          .logs()
          .filter((r) => r.msg === 'connection authorized')
          .map((r) => r.pid),
      );
    // Each worker accepts from the shared socket when it is free, not in turn: open sessions
    // until both have served one (a worker that never accepts would not).
    for (let i = 0; i < 100 && (i < 4 || servedBy().size < 2); i++) {
      assert.equal(await psqlOk({ conninfo: env.conninfo(), sql: 'SELECT 1' }), '1');
    }
    const pids = servedBy();
    assert.ok(pids.size >= 2, `sessions were served by ${pids.size} process(es)`);
    assert.ok(!pids.has(env.gateway.child.pid), 'the primary must not serve sessions');
  });

  it('resumes TLS sessions across workers with shared ticket keys', async () => {
    const first = await tlsToGateway(env);
    const ticket = await new Promise<Buffer>((resolve) => {
      first.once('session', resolve);
    });
    first.destroy();
    let resumed = 0;
    for (let i = 0; i < 8; i++) {
      const socket = await tlsToGateway(env, ticket);
      if (socket.isSessionReused()) resumed += 1;
      socket.destroy();
    }
    assert.equal(resumed, 8, `only ${resumed} of 8 handshakes resumed`);
  });

  it('reloads every worker on SIGHUP, and none when the new certificate is broken', async () => {
    const servedSerials = async () => {
      const serials = new Set<string>();
      for (let i = 0; i < 10; i++) serials.add(await presentedSerial(env.port, env.pki.caBundle));
      return serials;
    };
    const original = [...(await servedSerials())];
    writeFileSync(certFile, 'not a certificate\n');
    env.gateway.child.kill('SIGHUP');
    await env.gateway.waitForLog('reload failed');
    assert.deepEqual([...(await servedSerials())], original);

    const fresh = await env.pki.otherServer({ cn: 'localhost', sans: ['DNS:localhost'] });
    copyFileSync(fresh.key, keyFile);
    copyFileSync(fresh.cert, certFile);
    const reloadedBefore = env.gateway
      .logs()
      .filter((r) => r.msg === 'configuration reloaded').length;
    env.gateway.child.kill('SIGHUP');
    // Until both workers said so; no deadline (the runner's per-file limit catches a hang).
    while (
      env.gateway.logs().filter((r) => r.msg === 'configuration reloaded').length <
      reloadedBefore + 2
    ) {
      await delay(50);
    }
    const reloadedBy = new Set(
      env.gateway
        .logs()
        .filter((r) => r.msg === 'configuration reloaded')
        .slice(reloadedBefore)
        .map((r) => r.pid),
    );
    assert.equal(reloadedBy.size, 2, 'both workers must reload');
    const expected = new X509Certificate(readFileSync(fresh.cert)).serialNumber;
    assert.deepEqual([...(await servedSerials())], [expected]);
  });
});
