// Clients that break the protocol get PostgreSQL's answer (or a clean close), and the gateway
// keeps serving everyone else: pipelined plaintext after SSLRequest, bad lengths, malformed
// startup packets, a TLS handshake never finished, GSSENCRequest, direct TLS without ALPN.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { connect as tlsConnect } from 'node:tls';
import {
  encodeGssEncRequest,
  encodeSslRequest,
  encodeStartupMessage,
} from '../../src/protocol/frontend.js';
import { psqlOk } from '../helpers/clients.js';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';
import {
  collect,
  errorFields,
  int32,
  openRaw,
  openTlsSession,
  sendUntilClosed,
} from '../helpers/raw-client.js';

const openFds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

describe('serve: protocol abuse', () => {
  let env: GatewayEnv;
  let baselineFds = 0;
  before(async () => {
    env = await startGatewayEnv({ serveArgs: ['--authentication-timeout', '2s'] });
    await psqlOk({ conninfo: env.conninfo(), sql: 'SELECT 1' }); // warm up lazily opened files
    baselineFds = openFds(env.gateway.child.pid ?? 0);
  });
  after(async () => {
    await env?.close();
  });

  const stillServes = async () => {
    assert.equal(await psqlOk({ conninfo: env.conninfo(), sql: 'SELECT 42' }), '42');
  };

  it('refuses plaintext pipelined after SSLRequest with 08P01', async () => {
    const socket = await openRaw(env.port);
    const reply = collect(socket);
    socket.write(Buffer.concat([encodeSslRequest(), encodeStartupMessage([['user', 'postgres']])]));
    const { bytes, closed } = await reply;
    const fields = errorFields(bytes);
    assert.ok(fields, `expected an ErrorResponse, got ${bytes.toString('hex')}`);
    assert.equal(fields.get('C'), '08P01');
    assert.equal(fields.get('M'), 'received unencrypted data after SSL request');
    assert.equal(closed, true);
    await stillServes();
  });

  it('refuses an oversized startup length', async () => {
    const socket = await openRaw(env.port);
    const reply = collect(socket);
    socket.write(Buffer.concat([int32(0x7fffffff), int32(196608)]));
    const fields = errorFields((await reply).bytes);
    assert.equal(fields?.get('C'), '08P01');
    assert.equal(fields?.get('M'), 'invalid length of startup packet');
    await stillServes();
  });

  it('refuses a too-short startup length', async () => {
    const socket = await openRaw(env.port);
    const reply = collect(socket);
    socket.write(Buffer.concat([int32(4), int32(196608)]));
    assert.equal(errorFields((await reply).bytes)?.get('M'), 'invalid length of startup packet');
  });

  it('refuses a startup packet without its terminator (inside TLS)', async () => {
    const tls = await openTlsSession(env.port, env.pki.caBundle);
    const body = Buffer.from('user\0postgres\0database', 'utf8'); // no terminators
    const packet = Buffer.concat([int32(8 + body.length), int32(196608), body]);
    const fields = errorFields(await sendUntilClosed(tls, packet));
    assert.equal(fields?.get('C'), '08P01');
    assert.match(fields?.get('M') ?? '', /invalid startup packet layout/);
    await stillServes();
  });

  it('refuses an invalid replication parameter as PostgreSQL does (22023)', async () => {
    const tls = await openTlsSession(env.port, env.pki.caBundle);
    const reply = await sendUntilClosed(
      tls,
      encodeStartupMessage([
        ['user', 'postgres'],
        ['replication', 'maybe'],
      ]),
    );
    const fields = errorFields(reply);
    assert.equal(fields?.get('C'), '22023');
    assert.equal(fields?.get('M'), 'invalid value for parameter "replication": "maybe"');
  });

  it('refuses an unsupported protocol version with 0A000', async () => {
    const socket = await openRaw(env.port);
    const reply = collect(socket);
    socket.write(encodeStartupMessage([['user', 'postgres']], 2 << 16));
    const fields = errorFields((await reply).bytes);
    assert.equal(fields?.get('C'), '0A000');
    assert.equal(fields?.get('M'), 'unsupported frontend protocol 2.0: server supports 3.0 to 3.2');
  });

  /** How many connections the gateway closed because authentication_timeout ran out. */
  const timedOut = () =>
    env.gateway.logs().filter((r) => r.msg === 'canceling authentication due to timeout').length;
  /** Waits (for the event, not for a while) until the gateway has logged more than `count`. */
  const timedOutBeyond = async (count: number) => {
    while (timedOut() <= count) await once(env.gateway.child.stderr as Readable, 'data');
  };

  it('closes a client that never finishes the TLS handshake after authentication_timeout', async () => {
    const before = timedOut();
    const socket = await openRaw(env.port);
    const reply = collect(socket);
    socket.write(encodeSslRequest());
    const { bytes } = await reply;
    assert.equal(bytes.toString(), 'S');
    // Closed by authentication_timeout (it covers the handshake, as in PostgreSQL), not for
    // another reason: the gateway says so, during the handshake.
    await timedOutBeyond(before);
    const record = env.gateway
      .logs()
      .filter((r) => r.msg === 'canceling authentication due to timeout')
      .at(-1);
    assert.equal(record?.state, 'negotiating', env.gateway.output());
    await stillServes();
  });

  it('closes a client that sends nothing after authentication_timeout', async () => {
    const before = timedOut();
    const socket = await openRaw(env.port);
    await collect(socket);
    await timedOutBeyond(before);
  });

  it('answers GSSENCRequest with N, then accepts SSLRequest', async () => {
    const socket = await openRaw(env.port);
    socket.write(encodeGssEncRequest());
    const first = await new Promise<Buffer>((resolve) => socket.once('data', resolve));
    assert.equal(first.toString(), 'N');
    socket.write(encodeSslRequest());
    const second = await new Promise<Buffer>((resolve) => socket.once('data', resolve));
    assert.equal(second.toString(), 'S');
    socket.destroy();
  });

  it('refuses SSLRequest inside TLS the way PostgreSQL does', async () => {
    const tls = await openTlsSession(env.port, env.pki.caBundle);
    const fields = errorFields(await sendUntilClosed(tls, encodeSslRequest()));
    assert.equal(fields?.get('C'), '0A000');
    assert.equal(
      fields?.get('M'),
      'unsupported frontend protocol 1234.5679: server supports 3.0 to 3.2',
    );
  });

  it("refuses direct TLS without ALPN with PostgreSQL's error", async () => {
    const tls = tlsConnect({
      port: env.port,
      host: '127.0.0.1',
      servername: 'localhost',
      ca: readFileSync(env.pki.caBundle),
    });
    await new Promise((resolve) => tls.once('secureConnect', resolve));
    const chunks: Buffer[] = [];
    tls.on('data', (c: Buffer) => chunks.push(c));
    tls.on('error', () => {});
    await new Promise((resolve) => tls.once('close', resolve));
    const fields = errorFields(Buffer.concat(chunks));
    assert.equal(fields?.get('C'), '08P01');
    assert.equal(
      fields?.get('M'),
      'received direct SSL connection request without ALPN protocol negotiation extension',
    );
    await stillServes();
  });

  it('survives many clients resetting mid-handshake', async () => {
    await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const socket = await openRaw(env.port);
        socket.write(i % 2 === 0 ? encodeSslRequest() : Buffer.from([0, 0]));
        socket.resetAndDestroy();
      }),
    );
    await stillServes();
  });

  it('leaks no file descriptor and no server session after all of the above', async () => {
    const pid = env.gateway.child.pid ?? 0;
    let fds = openFds(pid);
    while (fds > baselineFds) {
      await delay(100);
      fds = openFds(pid);
    }
    assert.ok(
      fds <= baselineFds,
      `gateway has ${fds} open descriptors, ${baselineFds} at the start`,
    );
    // A backend exits a moment after its client leaves; wait for that, not longer.
    const query =
      "SELECT coalesce(string_agg(application_name || '/' || state, ', '), '') FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()";
    let sessions = await env.cluster.sql(query);
    while (sessions !== '') {
      await delay(100);
      sessions = await env.cluster.sql(query);
    }
    assert.equal(sessions, '', 'server sessions left open');
  });
});
