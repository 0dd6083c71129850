// The SSLRequest exchange edges real servers rarely show, against small scripted servers on
// loopback ('E' or garbage instead of 'S'/'N', bytes injected after 'S', silence, SNI, CRLs),
// and direct TLS (sslnegotiation=direct) against a real PostgreSQL 18.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { UpstreamError } from '../../src/libpq/upstream-error.js';
import { openUpstreamSession, type UpstreamTarget } from '../../src/libpq/upstream-session.js';
import { encodeStartupMessage } from '../../src/protocol/frontend.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';

const STARTUP = encodeStartupMessage([['user', 'postgres']]);
const AUTH_OK_READY = Buffer.from([
  0x52,
  0,
  0,
  0,
  8,
  0,
  0,
  0,
  0, // AuthenticationOk
  0x5a,
  0,
  0,
  0,
  5,
  0x49, // ReadyForQuery (idle)
]);

interface Scripted {
  port: number;
  sockets: Set<Socket>;
  close(): Promise<void>;
}

/** A TCP server that runs `script` for each connection. */
async function scriptedServer(script: (socket: Socket) => void): Promise<Scripted> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    script(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return {
    port: address.port,
    sockets,
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

async function failure(promise: Promise<unknown>): Promise<UpstreamError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof UpstreamError, `expected UpstreamError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a failure');
}

describe('SSLRequest negotiation edges', () => {
  let pki: TestPki;
  let home: string;
  const servers: Scripted[] = [];

  before(async () => {
    pki = await createTestPki();
    home = mkdtempSync(join(tmpdir(), 'pgtunnel-home-'));
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await pki?.cleanup();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  const scripted = async (script: (socket: Socket) => void) => {
    const server = await scriptedServer(script);
    servers.push(server);
    return server;
  };
  const open = (target: UpstreamTarget, signal?: AbortSignal) =>
    openUpstreamSession(target, STARTUP, { tlsEnvironment: { homeDir: home }, signal });

  /** 'S', then TLS with `cert`, then AuthenticationOk; records the SNI each client sent. */
  const tlsServer = async (cert: { cert: string; key: string }) => {
    const seen: Array<string | false | null> = [];
    const tls = createTlsServer({
      cert: readFileSync(cert.cert),
      key: readFileSync(cert.key),
      ALPNProtocols: ['postgresql'],
    });
    tls.on('secureConnection', (socket: TLSSocket) => {
      seen.push(socket.servername);
      socket.on('error', () => {});
      socket.once('data', () => socket.write(AUTH_OK_READY));
    });
    tls.on('tlsClientError', () => {});
    const server = await scripted((socket) => {
      socket.once('data', () => {
        socket.write('S');
        tls.emit('connection', socket);
      });
    });
    return { port: server.port, seen };
  };

  it("fails on 'E' in answer to SSLRequest without trusting the message", async () => {
    const server = await scripted((socket) => socket.once('data', () => socket.end('E')));
    const error = await failure(open({ host: '127.0.0.1', port: server.port, sslmode: 'prefer' }));
    assert.equal(
      error.message,
      `connection to server at "127.0.0.1", port ${server.port} failed: server sent an error response during SSL exchange`,
    );
  });

  it('fails on an invalid answer to SSLRequest', async () => {
    const server = await scripted((socket) => socket.once('data', () => socket.write('X')));
    const error = await failure(open({ host: '127.0.0.1', port: server.port, sslmode: 'require' }));
    assert.match(error.message, /failed: received invalid response to SSL negotiation: X$/);
  });

  it("refuses plaintext bytes injected after 'S' (CVE-2021-23222)", async () => {
    const server = await scripted((socket) =>
      socket.once('data', () => socket.write(Buffer.concat([Buffer.from('S'), AUTH_OK_READY]))),
    );
    const error = await failure(open({ host: '127.0.0.1', port: server.port, sslmode: 'require' }));
    assert.equal(error.code, 'ERR_UPSTREAM_TLS');
    assert.match(error.message, /failed: received unencrypted data after SSL response$/);
  });

  it('gives up after connect_timeout with "timeout expired"', async () => {
    const server = await scripted(() => {});
    const error = await failure(
      open({ host: '127.0.0.1', port: server.port, sslmode: 'prefer', connectTimeoutMs: 300 }),
    );
    assert.equal(
      error.message,
      `connection to server at "127.0.0.1", port ${server.port} failed: timeout expired`,
    );
  });

  it('rejects with the abort reason when the caller cancels', async () => {
    const server = await scripted(() => {});
    const controller = new AbortController();
    const reason = new Error('client went away');
    setTimeout(() => controller.abort(reason), 100);
    await assert.rejects(
      open({ host: '127.0.0.1', port: server.port, sslmode: 'prefer' }, controller.signal),
      (error) => error === reason,
    );
  });

  it('reports a server that hangs up after the startup packet (prefer)', async () => {
    const server = await scripted((socket) => {
      // 'N' to an SSLRequest, and a hang-up after any StartupMessage
      socket.on('data', (packet: Buffer) => {
        if (packet.length === 8 && packet.readUInt32BE(4) === 80877103) socket.write('N');
        else socket.end();
      });
    });
    const session = await open({ host: '127.0.0.1', port: server.port, sslmode: 'prefer' });
    // after 'N' there is no fallback left, so nothing was read and the caller sees EOF itself
    assert.equal(session.tls, false);
    assert.equal(session.firstBytes.length, 0);
    session.socket.destroy();
    const allow = await failure(open({ host: '127.0.0.1', port: server.port, sslmode: 'allow' }));
    assert.match(allow.message, /failed: server closed the connection unexpectedly/);
  });

  it('sends SNI for host names only, and not with sslsni=0', async () => {
    const server = await tlsServer({ cert: pki.serverCert, key: pki.serverKey });
    const base = { port: server.port, sslmode: 'require' as const };
    for (const target of [
      { ...base, host: 'localhost' },
      { ...base, host: '127.0.0.1' },
      { ...base, host: 'localhost', sslsni: false },
      { ...base, host: 'db.example.com', hostaddr: '127.0.0.1' },
    ]) {
      const session = await open(target);
      assert.equal(session.tls, true);
      session.socket.destroy();
    }
    // the server side records the handshake a moment after the client sees it finish
    while (server.seen.length < 4) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.deepEqual(server.seen, ['localhost', false, false, 'db.example.com']);
  });

  it('checks the CRL given with sslcrl', async () => {
    const revoked = await pki.otherServer({ cn: 'localhost', sans: ['DNS:localhost'] });
    const server = await tlsServer(revoked);
    const target: UpstreamTarget = {
      host: 'localhost',
      port: server.port,
      sslmode: 'verify-full',
      sslrootcert: pki.caBundle,
      sslcrl: pki.crlBundle,
    };
    const before = await open(target);
    before.socket.destroy();
    await pki.revoke(revoked.cert);
    const error = await failure(open(target));
    assert.match(
      error.message,
      /failed: SSL error: certificate verify failed: certificate revoked$/,
    );
    // without the CRL the same certificate is accepted, as libpq does
    const { sslcrl: _unused, ...noCrl } = target;
    const session = await open(noCrl);
    session.socket.destroy();
  });
});

describe('direct TLS (sslnegotiation=direct) against PostgreSQL 18', () => {
  let pki: TestPki;
  let cluster: Cluster;
  let home: string;

  before(async () => {
    pki = await createTestPki();
    cluster = await startCluster({
      flavor: 'embedded',
      ssl: { certFile: pki.serverCert, keyFile: pki.serverKey },
    });
    home = mkdtempSync(join(tmpdir(), 'pgtunnel-home-'));
  });
  after(async () => {
    await cluster?.stop();
    await pki?.cleanup();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('connects with TLS straight away and ALPN postgresql', async () => {
    const session = await openUpstreamSession(
      {
        host: 'localhost',
        port: cluster.port,
        sslmode: 'verify-full',
        sslrootcert: pki.caBundle,
        sslnegotiation: 'direct',
      },
      STARTUP,
      { tlsEnvironment: { homeDir: home } },
    );
    try {
      assert.equal(session.tls, true);
      assert.equal((session.socket as TLSSocket).alpnProtocol, 'postgresql');
      const replied = new Promise<Buffer>((resolve) => session.socket.once('data', resolve));
      session.socket.resume(); // sessions are handed over paused
      const reply = await replied;
      assert.equal(reply[0], 0x52); // AuthenticationOk (trust)
    } finally {
      session.socket.destroy();
    }
    assert.doesNotMatch(cluster.log(), /invalid length of startup packet/);
  });
});
