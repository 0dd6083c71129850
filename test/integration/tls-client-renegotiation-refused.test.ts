// Client-initiated TLS renegotiation is refused by every server-side TLS endpoint, as
// PostgreSQL refuses it: `serve` (after an SSLRequest), `serve --raw`, and the local TLS of
// `connect`. OpenSSL answers the renegotiation with a no_renegotiation alert, so the client sees
// "no renegotiation" and no second handshake happens.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';
import { type PgtunnelProcess, startPgtunnel } from '../helpers/pgtunnel-process.js';
import { freePort } from '../helpers/ports.js';
import { attemptRenegotiation } from '../helpers/renegotiation.js';

describe('client-initiated TLS renegotiation', () => {
  let env: GatewayEnv;
  const others: PgtunnelProcess[] = [];
  before(async () => {
    env = await startGatewayEnv();
  });
  after(async () => {
    for (const other of others) await other.stop();
    await env?.close();
  });

  const assertRefused = (attempt: { renegotiated: boolean; output: string }) => {
    assert.equal(attempt.renegotiated, false, attempt.output);
    assert.match(attempt.output, /no renegotiation/, attempt.output);
  };

  it('is refused by serve after an SSLRequest (openssl s_client -starttls postgres -tls1_2)', async () => {
    assertRefused(
      await attemptRenegotiation(env.port, { caFile: env.pki.caBundle, starttls: 'postgres' }),
    );
  });

  it('is refused by serve --raw', async () => {
    const port = await freePort();
    others.push(
      await startPgtunnel([
        'serve',
        '--raw',
        '--listen-addresses',
        '127.0.0.1',
        '--port',
        String(port),
        '--ssl-cert-file',
        env.pki.serverCert,
        '--ssl-key-file',
        env.pki.serverKey,
        '--upstream',
        `127.0.0.1:${env.cluster.port}`,
      ]),
    );
    assertRefused(await attemptRenegotiation(port, { caFile: env.pki.caBundle }));
  });

  it("is refused by connect's local TLS", async () => {
    const port = await freePort();
    others.push(
      await startPgtunnel([
        'connect',
        '--listen',
        `127.0.0.1:${port}`,
        '--local-ssl-cert',
        env.pki.serverCert,
        '--local-ssl-key',
        env.pki.serverKey,
        `host=127.0.0.1 port=${env.cluster.port} sslmode=disable`,
      ]),
    );
    assertRefused(
      await attemptRenegotiation(port, { caFile: env.pki.caBundle, starttls: 'postgres' }),
    );
  });
});
