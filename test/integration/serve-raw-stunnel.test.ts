// `pgtunnel serve --raw` through the CLI, with the real stunnel4 as its client: psql talks
// plaintext to stunnel's client mode, stunnel speaks TLS to pgtunnel, pgtunnel forwards the
// bytes to PostgreSQL; a client certificate is required when ssl_ca_file is set.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { psqlOk, runPsql } from '../helpers/clients.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import { type PgtunnelProcess, startPgtunnel } from '../helpers/pgtunnel-process.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { type Stunnel, startStunnel } from '../helpers/stunnel.js';

describe('serve --raw with stunnel4 as the client', () => {
  let pki: TestPki;
  let cluster: Cluster;
  let raw: PgtunnelProcess;
  let rawPort: number;
  const stunnels: Stunnel[] = [];
  const startRaw = () =>
    startPgtunnel([
      'serve',
      '--raw',
      '--listen-addresses',
      '127.0.0.1',
      '--port',
      String(rawPort),
      '--ssl-cert-file',
      pki.serverCert,
      '--ssl-key-file',
      pki.serverKey,
      '--ssl-ca-file',
      pki.caBundle,
      '--ssl-crl-file',
      pki.crlBundle,
      '--upstream',
      `127.0.0.1:${cluster.port}`,
    ]);
  before(async () => {
    pki = await createTestPki();
    cluster = await startCluster();
    rawPort = await freePort();
    raw = await startRaw();
  });
  after(async () => {
    for (const s of stunnels) await s.stop();
    await raw?.stop();
    await cluster?.stop();
    await pki?.cleanup();
  });

  const throughStunnel = async (cert?: { cert: string; key: string }) => {
    const port = await freePort();
    stunnels.push(
      await startStunnel({
        client: true,
        acceptPort: port,
        connect: `127.0.0.1:${rawPort}`,
        options: {
          CAfile: pki.caBundle,
          verifyChain: 'yes',
          checkHost: 'localhost',
          ...(cert ? { cert: cert.cert, key: cert.key } : {}),
        },
      }),
    );
    return `host=127.0.0.1 port=${port} user=postgres dbname=postgres sslmode=disable`;
  };

  it('carries a psql session from stunnel4 (client mode) to PostgreSQL', async () => {
    const alice = await pki.client('alice');
    const conninfo = await throughStunnel(alice);
    assert.equal(
      await psqlOk({ conninfo, sql: "SELECT 'raw-through-stunnel'" }),
      'raw-through-stunnel',
    );
  });

  it('lets a client that leaves before its handshake go at once, not at the handshake timeout', async () => {
    // A balancer's TCP health check: connect, then leave. The old server held the connection
    // for the 30 s handshake timeout and then logged a timeout, never this line.
    const socket = connect({ port: rawPort, host: '127.0.0.1' });
    socket.on('error', () => {});
    await once(socket, 'connect');
    const clientPort = socket.localPort;
    socket.end();
    const line = await raw.waitForLog(
      'the client closed the connection before completing the TLS handshake',
    );
    // Named by its address, not as a local client.
    assert.equal(line.client, `127.0.0.1:${clientPort}`);
  });

  it('refuses a client without a certificate, and one whose certificate is revoked', async () => {
    const none = await runPsql({ conninfo: await throughStunnel() });
    assert.notEqual(none.code, 0);
    const revoked = await pki.client('mallory');
    await pki.revoke(revoked.cert);
    // The CRL is read at start; a new server sees the revocation.
    await raw.stop();
    raw = await startRaw();
    // The same server still admits a valid certificate, so the refusal is the revocation.
    const alice = await pki.client('alice');
    assert.equal(await psqlOk({ conninfo: await throughStunnel(alice), sql: 'SELECT 1' }), '1');
    const refused = await runPsql({ conninfo: await throughStunnel(revoked) });
    assert.notEqual(refused.code, 0);
  });
});
