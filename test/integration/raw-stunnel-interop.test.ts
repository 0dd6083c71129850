// Raw (stunnel-compatible) mode against the real stunnel4, both ways, with psql talking to a
// plaintext PostgreSQL through the TLS leg: `connect --raw` → stunnel server mode, and stunnel
// client mode → the raw server (`serve --raw`), with and without client certificates.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/log.js';
import { parseSocketAddress } from '../../src/net/address.js';
import { parseRawTarget, type RawServer, startRawServer } from '../../src/raw/raw-server.js';
import { psqlOk, runPsql } from '../helpers/clients.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import { type PgtunnelProcess, startPgtunnel } from '../helpers/pgtunnel-process.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { type Stunnel, startStunnel } from '../helpers/stunnel.js';

describe('raw mode interoperates with stunnel4', () => {
  let pki: TestPki;
  let cluster: Cluster;
  const stunnels: Stunnel[] = [];
  const tunnels: PgtunnelProcess[] = [];
  const rawServers: RawServer[] = [];

  before(async () => {
    pki = await createTestPki();
    cluster = await startCluster(); // plaintext: the TLS leg is between the relays
  });
  after(async () => {
    await Promise.all([
      ...tunnels.map((t) => t.stop()),
      ...stunnels.map((s) => s.stop()),
      ...rawServers.map((r) => r.close('fast')),
    ]);
    await cluster?.stop();
    await pki?.cleanup();
  });

  const psqlVia = (port: number) =>
    psqlOk({
      conninfo: `host=127.0.0.1 port=${port} user=postgres dbname=postgres sslmode=disable`,
      sql: "SELECT 'through ' || current_user",
    });

  it('connect --raw → stunnel4 server mode → PostgreSQL', async () => {
    const stunnelPort = await freePort();
    stunnels.push(
      await startStunnel({
        client: false,
        acceptPort: stunnelPort,
        connect: `127.0.0.1:${cluster.port}`,
        options: { cert: pki.serverCert, key: pki.serverKey },
      }),
    );
    const localPort = await freePort();
    tunnels.push(
      await startPgtunnel([
        'connect',
        '--raw',
        '--listen',
        `127.0.0.1:${localPort}`,
        `host=localhost port=${stunnelPort} sslrootcert=${pki.caBundle}`,
      ]),
    );
    assert.equal(await psqlVia(localPort), 'through postgres');
    // several sessions, one after another, through the same relay pair
    for (let i = 0; i < 3; i++) assert.equal(await psqlVia(localPort), 'through postgres');
  });

  it('connect --raw presents sslcert/sslkey to a stunnel4 that requires a client certificate', async () => {
    const stunnelPort = await freePort();
    stunnels.push(
      await startStunnel({
        client: false,
        acceptPort: stunnelPort,
        connect: `127.0.0.1:${cluster.port}`,
        // verifyChain in server mode: a client certificate from CAfile is required
        options: {
          cert: pki.serverCert,
          key: pki.serverKey,
          CAfile: pki.caBundle,
          verifyChain: 'yes',
        },
      }),
    );
    const client = await pki.client('raw-client');
    const withCert = await freePort();
    const withoutCert = await freePort();
    for (const [port, extra] of [
      [withCert, ` sslcert=${client.cert} sslkey=${client.key}`],
      [withoutCert, ''],
    ] as const) {
      tunnels.push(
        await startPgtunnel(
          [
            'connect',
            '--raw',
            '--listen',
            `127.0.0.1:${port}`,
            `host=localhost port=${stunnelPort} sslrootcert=${pki.caBundle}${extra}`,
          ],
          // no ~/.postgresql/postgresql.crt may be picked up by default
          { env: { HOME: pki.dir } },
        ),
      );
    }
    assert.equal(await psqlVia(withCert), 'through postgres');
    const refused = await runPsql({
      conninfo: `host=127.0.0.1 port=${withoutCert} user=postgres sslmode=disable`,
    });
    assert.notEqual(refused.code, 0);
  });

  it('connect --raw refuses a stunnel4 whose certificate another CA signed', async () => {
    const stunnelPort = await freePort();
    const other = await pki.client('not-a-server', { untrusted: true });
    stunnels.push(
      await startStunnel({
        client: false,
        acceptPort: stunnelPort,
        connect: `127.0.0.1:${cluster.port}`,
        options: { cert: other.cert, key: other.key },
      }),
    );
    const localPort = await freePort();
    const tunnel = await startPgtunnel([
      'connect',
      '--raw',
      '--listen',
      `127.0.0.1:${localPort}`,
      `host=localhost port=${stunnelPort} sslrootcert=${pki.caBundle}`,
    ]);
    tunnels.push(tunnel);
    const result = await runPsql({
      conninfo: `host=127.0.0.1 port=${localPort} user=postgres sslmode=disable`,
    });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /server closed the connection unexpectedly/);
    const record = await tunnel.waitForLog('upstream connection failed');
    assert.match(String(record.err), /certificate verify failed/);
  });

  it('stunnel4 client mode (verifyChain, checkHost) → raw server → PostgreSQL', async () => {
    const rawPort = await freePort();
    const server = await startRawServer({
      listen: [parseSocketAddress(`127.0.0.1:${rawPort}`)],
      target: parseRawTarget(`host=${cluster.socketDir} port=${cluster.port}`),
      certFile: pki.serverCert,
      keyFile: pki.serverKey,
      logger: silentLogger,
    });
    rawServers.push(server);
    const stunnelPort = await freePort();
    stunnels.push(
      await startStunnel({
        client: true,
        acceptPort: stunnelPort,
        connect: `127.0.0.1:${rawPort}`,
        options: { CAfile: pki.caBundle, verifyChain: 'yes', checkHost: 'localhost' },
      }),
    );
    assert.equal(await psqlVia(stunnelPort), 'through postgres');
  });

  it('the raw server requires a client certificate from its CA when given one', async () => {
    const rawPort = await freePort();
    const server = await startRawServer({
      listen: [parseSocketAddress(`127.0.0.1:${rawPort}`)],
      target: parseRawTarget(`127.0.0.1:${cluster.port}`),
      certFile: pki.serverCert,
      keyFile: pki.serverKey,
      caFile: pki.caBundle,
      crlFile: pki.crlBundle,
      logger: silentLogger,
    });
    rawServers.push(server);
    const client = await pki.client('stunnel-client');
    const withCert = await freePort();
    const withoutCert = await freePort();
    stunnels.push(
      await startStunnel({
        client: true,
        acceptPort: withCert,
        connect: `127.0.0.1:${rawPort}`,
        options: {
          CAfile: pki.caBundle,
          verifyChain: 'yes',
          checkHost: 'localhost',
          cert: client.cert,
          key: client.key,
        },
      }),
      await startStunnel({
        client: true,
        acceptPort: withoutCert,
        connect: `127.0.0.1:${rawPort}`,
        options: { CAfile: pki.caBundle, verifyChain: 'yes', checkHost: 'localhost' },
      }),
    );
    assert.equal(await psqlVia(withCert), 'through postgres');
    const refused = await runPsql({
      conninfo: `host=127.0.0.1 port=${withoutCert} user=postgres sslmode=disable`,
    });
    assert.notEqual(refused.code, 0);
  });

  it('connect --raw → raw server, end to end without stunnel', async () => {
    const rawPort = await freePort();
    rawServers.push(
      await startRawServer({
        listen: [parseSocketAddress(`127.0.0.1:${rawPort}`)],
        target: parseRawTarget(`localhost:${cluster.port}`),
        certFile: pki.serverCert,
        keyFile: pki.serverKey,
        logger: silentLogger,
      }),
    );
    const localPort = await freePort();
    tunnels.push(
      await startPgtunnel([
        'connect',
        '--raw',
        '--listen',
        `127.0.0.1:${localPort}`,
        `postgresql://localhost:${rawPort}/?sslmode=verify-full&sslrootcert=${encodeURIComponent(pki.caBundle)}`,
      ]),
    );
    assert.equal(await psqlVia(localPort), 'through postgres');
  });
});
