// Failures around the gateway: an unreachable upstream is a PostgreSQL FATAL (08001) for the
// client, a server that dies mid-session closes the session cleanly and the gateway serves
// again once it is back, and a client that stops reading does not make the gateway buffer
// the server's output (backpressure), nor lose a byte of it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { TLSSocket } from 'node:tls';
import { encodeStartupMessage } from '../../src/protocol/frontend.js';
import { MessageReader } from '../../src/protocol/message-reader.js';
import { psqlOk, runPsql } from '../helpers/clients.js';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';
import { startPgtunnel } from '../helpers/pgtunnel-process.js';
import { freePort } from '../helpers/ports.js';
import { openTlsSession } from '../helpers/raw-client.js';

function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

function simpleQuery(sql: string): Buffer {
  const body = Buffer.from(`${sql}\0`, 'utf8');
  const message = Buffer.alloc(5 + body.length);
  message[0] = 0x51; // Q
  message.writeUInt32BE(4 + body.length, 1);
  body.copy(message, 5);
  return message;
}

/** SSLRequest, TLS, StartupMessage; resolves once the server says ReadyForQuery. */
async function sessionThroughGateway(
  env: GatewayEnv,
): Promise<{ socket: TLSSocket; reader: MessageReader }> {
  const socket = await openTlsSession(env.port, env.pki.caBundle);
  const reader = new MessageReader();
  socket.write(
    encodeStartupMessage([
      ['user', 'postgres'],
      ['database', 'postgres'],
    ]),
  );
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      for (const message of reader.push(chunk)) {
        if (message.type === 0x45) reject(new Error('startup failed'));
        if (message.type === 0x5a) {
          socket.off('data', onData);
          resolve();
        }
      }
    };
    socket.on('data', onData);
  });
  return { socket, reader };
}

describe('serve: upstream failures and slow clients', () => {
  let env: GatewayEnv;
  before(async () => {
    env = await startGatewayEnv();
  });
  after(async () => {
    await env?.close();
  });

  /** A second gateway on its own port with the given upstream; conninfo reaches it. */
  const gatewayTo = async (upstream: string) => {
    const port = await freePort();
    const gateway = await startPgtunnel([
      'serve',
      '--listen-addresses',
      '127.0.0.1',
      '--port',
      String(port),
      '--ssl-cert-file',
      env.pki.serverCert,
      '--ssl-key-file',
      env.pki.serverKey,
      '--upstream',
      upstream,
      '--workers',
      '1',
    ]);
    const conninfo = `host=localhost port=${port} user=postgres sslmode=verify-full sslrootcert=${env.pki.caBundle}`;
    return { gateway, conninfo };
  };

  it('tells the client when the upstream server cannot be reached (08001)', async () => {
    const deadPort = await freePort();
    const { gateway, conninfo } = await gatewayTo(
      `host=127.0.0.1 port=${deadPort} sslmode=disable connect_timeout=2`,
    );
    try {
      const result = await runPsql({ conninfo });
      assert.notEqual(result.code, 0);
      assert.match(
        result.stderr,
        /FATAL: {2}could not connect to the upstream server: .*127\.0\.0\.1.*refused/i,
      );
      assert.match(
        result.stderr,
        /HINT: {2}Is the server running on that host and accepting TCP\/IP connections\?/,
      );
    } finally {
      await gateway.stop();
    }
  });

  it('tries each host of a multi-host upstream in order, as libpq does', async () => {
    const deadPorts = [await freePort(), await freePort()];
    const reachable = await gatewayTo(
      `host=127.0.0.1,127.0.0.1 port=${deadPorts[0]},${env.cluster.port} sslmode=disable`,
    );
    try {
      const port = await psqlOk({ conninfo: reachable.conninfo, sql: 'SHOW port' });
      assert.equal(port, String(env.cluster.port));
    } finally {
      await reachable.gateway.stop();
    }
    const unreachable = await gatewayTo(
      `host=127.0.0.1,127.0.0.1 port=${deadPorts[0]},${deadPorts[1]} sslmode=disable`,
    );
    try {
      const result = await runPsql({ conninfo: unreachable.conninfo });
      assert.notEqual(result.code, 0);
      // Every failure is listed, as libpq lists every host it tried.
      for (const dead of deadPorts) {
        assert.match(
          result.stderr,
          new RegExp(`127\\.0\\.0\\.1", port ${dead} failed: Connection refused`),
        );
      }
    } finally {
      await unreachable.gateway.stop();
    }
  });

  it('closes sessions when the server goes away, and serves again when it is back', async () => {
    const { socket } = await sessionThroughGateway(env);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.on('error', () => {});
    await env.cluster.halt();
    await closed;
    const refused = await runPsql({ conninfo: env.conninfo() });
    assert.match(refused.stderr, /could not connect to the upstream server/);
    await env.cluster.start();
    assert.equal(await psqlOk({ conninfo: env.conninfo(), sql: 'SELECT 1' }), '1');
  });

  it('applies backpressure to a client that stops reading, and delivers every byte', async () => {
    const rows = 200_000;
    const rowBytes = 1000;
    const { socket, reader } = await sessionThroughGateway(env);
    const gatewayPid = env.gateway.child.pid ?? 0;
    const before = rssKiB(gatewayPid);
    socket.pause();
    socket.write(
      simpleQuery(
        `COPY (SELECT repeat('x', ${rowBytes}) FROM generate_series(1, ${rows})) TO STDOUT`,
      ),
    );
    await delay(3000); // the server would produce ~200 MB in this time if nothing held it back
    const whilePaused = rssKiB(gatewayPid);
    assert.ok(
      whilePaused - before < 64 * 1024,
      `gateway RSS grew by ${Math.round((whilePaused - before) / 1024)} MiB while the client was not reading`,
    );
    let copyBytes = 0;
    await new Promise<void>((resolve, reject) => {
      socket.on('data', (chunk: Buffer) => {
        for (const message of reader.push(chunk)) {
          if (message.type === 0x64) copyBytes += message.body.length; // CopyData
          if (message.type === 0x45) reject(new Error('COPY failed'));
          if (message.type === 0x5a) resolve();
        }
      });
      socket.resume();
    });
    assert.equal(copyBytes, rows * (rowBytes + 1)); // each row ends with a newline
    socket.destroy();
  });
});
