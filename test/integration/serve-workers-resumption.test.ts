// With several worker processes, connections spread over them and a TLS session ticket
// issued by one worker resumes on another (they share ticket keys).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { psqlOk } from '../helpers/clients.js';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';
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
  before(async () => {
    env = await startGatewayEnv({ serveArgs: ['--workers', '2', '--log-connections', 'on'] });
  });
  after(async () => {
    await env?.close();
  });

  it('spreads sessions over both workers', async () => {
    for (let i = 0; i < 12; i++) {
      assert.equal(await psqlOk({ conninfo: env.conninfo(), sql: 'SELECT 1' }), '1');
    }
    const pids = new Set(
      env.gateway
        .logs()
        .filter((r) => r.msg === 'connection authorized')
        .map((r) => r.pid),
    );
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
});
