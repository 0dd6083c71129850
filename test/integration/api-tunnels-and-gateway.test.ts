// The Node API against real parts: an SSH tunnel through OpenSSH (with the PostgreSQL check), a
// TLS tunnel through a gateway started by the API, each giving host/port to node-postgres and
// closing; errors as PgTunnelError with the codes of docs/errors.md.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import {
  openSshTunnel,
  openTlsTunnel,
  PgTunnelError,
  type RunningGateway,
  startGateway,
} from '../../src/api/index.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { createKeyPair, type SshScene, startSshScene } from '../helpers/sshd.js';

async function selectOne(host: string, port: number, ssl?: pg.ClientConfig['ssl']) {
  const client = new pg.Client({ host, port, user: 'postgres', database: 'postgres', ssl });
  await client.connect();
  try {
    return (await client.query("SELECT current_setting('port') AS port")).rows[0].port as string;
  } finally {
    await client.end();
  }
}

function refused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

function hasCode(code: string) {
  return (error: unknown) => {
    assert.ok(error instanceof PgTunnelError, `not a PgTunnelError: ${error}`);
    assert.equal(error.code, code, error.message);
    return true;
  };
}

describe('Node API', () => {
  let scene: SshScene;
  let pki: TestPki;
  let gateway: RunningGateway;

  before(async () => {
    [scene, pki] = await Promise.all([startSshScene('api'), createTestPki()]);
    gateway = await startGateway({
      settings: {
        upstream: `host=${scene.cluster.socketDir} port=${scene.cluster.port}`,
        ssl_cert_file: pki.serverCert,
        ssl_key_file: pki.serverKey,
        listen_addresses: '127.0.0.1',
      },
    });
  });
  after(async () => {
    await gateway?.close();
    await scene?.stop();
    await pki?.cleanup();
  });

  it('openSshTunnel: checks the far end, carries node-postgres, and closes', async () => {
    const tunnel = await openSshTunnel({
      destination: `${scene.sshd.user}@127.0.0.1`,
      port: scene.sshd.port,
      target: { host: '127.0.0.1', port: scene.cluster.port },
      home: scene.home,
      check: true,
    });
    assert.match(tunnel.checks.join('\n'), /PostgreSQL answered/);
    assert.equal(await selectOne(tunnel.host, tunnel.port), String(scene.cluster.port));
    await tunnel.close();
    assert.ok(await refused(tunnel.host, tunnel.port), 'the local port is closed');
  });

  it('openSshTunnel: an unknown host key and a refused key are typed errors', async () => {
    const common = {
      destination: `${scene.sshd.user}@127.0.0.1`,
      port: scene.sshd.port,
      target: { host: '127.0.0.1', port: scene.cluster.port },
      home: scene.home,
      sshConfigFile: 'none',
    };
    await assert.rejects(
      openSshTunnel({ ...common, knownHostsFile: '/dev/null' }),
      hasCode('ERR_SSH_HOST_KEY'),
    );
    const stranger = await createKeyPair(scene.home, 'stranger');
    await assert.rejects(
      openSshTunnel({
        ...common,
        identityFiles: [stranger.privateKeyFile],
        sshOptions: ['IdentityAgent=none', `IdentityFile=${join(scene.home, 'nothing')}`],
      }),
      hasCode('ERR_SSH_AUTH'),
    );
  });

  it('startGateway and openTlsTunnel: verify-full end to end, then close', async () => {
    assert.equal(
      await selectOne('localhost', gateway.port, {
        ca: readFileSync(pki.caBundle),
      }),
      String(scene.cluster.port),
    );
    const tunnel = await openTlsTunnel({
      conninfo: `host=localhost port=${gateway.port} sslmode=verify-full sslrootcert=${pki.caBundle}`,
    });
    assert.equal(await selectOne(tunnel.host, tunnel.port), String(scene.cluster.port));
    await tunnel.close();
    assert.ok(await refused(tunnel.host, tunnel.port));
  });

  it('startGateway and openTlsTunnel refuse bad input with codes', async () => {
    await assert.rejects(
      startGateway({ settings: { ssl_cert_file: pki.serverCert } }),
      hasCode('ERR_CONFIG_INVALID'),
    );
    await assert.rejects(
      startGateway({
        settings: {
          upstream: 'host=/nonexistent',
          ssl_cert_file: join(pki.dir, 'missing.crt'),
          ssl_key_file: pki.serverKey,
        },
      }),
      hasCode('ERR_TLS_CREDENTIALS'),
    );
    await assert.rejects(
      openTlsTunnel({ conninfo: 'host=localhost sslmode=sometimes' }),
      (error: unknown) => error instanceof PgTunnelError && /sslmode/.test(error.message),
    );
  });
});
