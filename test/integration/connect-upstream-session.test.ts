// openUpstreamSession against real PostgreSQL servers with ssl on and off: every sslmode row,
// libpq's allow/prefer fallbacks driven by pg_hba.conf, certificate and host name failures
// with libpq's messages, client certificates, sslrootcert=system, unix sockets, cancel, and
// several hosts (load_balance_hosts).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sendCancelRequest } from '../../src/libpq/cancel.js';
import { resolveConnInfo } from '../../src/libpq/conninfo.js';
import type { SslMode } from '../../src/libpq/sslmode.js';
import { UpstreamError } from '../../src/libpq/upstream-error.js';
import {
  openFirstUpstreamSession,
  openUpstreamSession,
  targetsFromConnInfo,
  type UpstreamSession,
  type UpstreamTarget,
} from '../../src/libpq/upstream-session.js';
import { decodeErrorFields } from '../../src/protocol/backend-error.js';
import { encodeStartupMessage } from '../../src/protocol/frontend.js';
import { MessageReader } from '../../src/protocol/message-reader.js';
import { psqlOk, runPsql } from '../helpers/clients.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';

const STARTUP = encodeStartupMessage([
  ['user', 'postgres'],
  ['database', 'postgres'],
]);

interface Reply {
  /** First column of the first row, or the ErrorResponse fields. */
  value?: string;
  error?: Map<string, string>;
  backendKey?: { processId: number; secretKey: Buffer };
}

/** Reads messages (starting with the session's firstBytes) until ReadyForQuery or an error. */
function readUntilReady(session: UpstreamSession, reader: MessageReader, pending: Buffer[]) {
  return new Promise<Reply>((resolve, reject) => {
    const reply: Reply = {};
    const onData = (chunk: Buffer) => {
      for (const message of reader.push(chunk)) {
        const type = String.fromCharCode(message.type);
        if (type === 'K') {
          reply.backendKey = {
            processId: message.body.readUInt32BE(0),
            secretKey: Buffer.from(message.body.subarray(4)),
          };
        } else if (type === 'D' && reply.value === undefined) {
          const length = message.body.readInt32BE(2);
          reply.value = message.body.toString('utf8', 6, 6 + length);
        } else if (type === 'E') {
          reply.error = decodeErrorFields(message.body);
          done();
          return;
        } else if (type === 'Z') {
          done();
          return;
        }
      }
    };
    const onClose = () => {
      cleanup();
      reject(new Error('server closed the connection'));
    };
    const cleanup = () => {
      session.socket.off('data', onData);
      session.socket.off('close', onClose);
    };
    const done = () => {
      cleanup();
      session.socket.pause();
      resolve(reply);
    };
    session.socket.on('data', onData);
    session.socket.once('close', onClose);
    session.socket.on('error', () => {});
    for (const chunk of pending.splice(0)) onData(chunk);
    session.socket.resume();
  });
}

function encodeQuery(sql: string): Buffer {
  const body = Buffer.from(`${sql}\0`, 'utf8');
  const header = Buffer.alloc(5);
  header[0] = 0x51; // Q
  header.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

/** Finishes start-up over the session, runs `sql`, returns its first value. */
async function sessionQuery(session: UpstreamSession, sql: string): Promise<Reply> {
  const reader = new MessageReader();
  const startup = await readUntilReady(session, reader, [session.firstBytes]);
  if (startup.error) return startup;
  session.socket.write(encodeQuery(sql));
  const result = await readUntilReady(session, reader, []);
  return { ...result, backendKey: startup.backendKey };
}

function close(session: UpstreamSession): void {
  session.socket.end(Buffer.from([0x58, 0, 0, 0, 4])); // Terminate
  session.socket.destroy();
}

async function expectFailure(
  promise: Promise<unknown>,
  code: string,
  message: string | RegExp,
): Promise<UpstreamError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof UpstreamError, `expected UpstreamError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    return error;
  }
  assert.fail('expected the session to fail');
}

describe('openUpstreamSession against PostgreSQL', () => {
  let pki: TestPki;
  let sslOn: Cluster;
  let sslOff: Cluster;
  let emptyHome: string;

  before(async () => {
    pki = await createTestPki();
    [sslOn, sslOff] = await Promise.all([
      startCluster({
        ssl: { certFile: pki.serverCert, keyFile: pki.serverKey, caFile: pki.caBundle },
      }),
      startCluster(),
    ]);
    // no ~/.postgresql here: libpq's default files must not leak in from the machine
    emptyHome = mkdtempSync(join(tmpdir(), 'pgtunnel-home-'));
  });
  after(async () => {
    await Promise.all([sslOn?.stop(), sslOff?.stop()]);
    await pki?.cleanup();
    if (emptyHome) rmSync(emptyHome, { recursive: true, force: true });
  });

  const target = (cluster: Cluster, sslmode: SslMode, extra: Partial<UpstreamTarget> = {}) => ({
    host: '127.0.0.1',
    port: cluster.port,
    sslmode,
    sslrootcert: sslmode.startsWith('verify') ? pki.caBundle : undefined,
    connectTimeoutMs: 10_000,
    ...extra,
  });
  const open = (t: UpstreamTarget, env: NodeJS.ProcessEnv = {}) =>
    openUpstreamSession(t, STARTUP, { tlsEnvironment: { homeDir: emptyHome, env } });
  const sslInUse = 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()';

  // sslmode → [ssl on: TLS used?, ssl off: TLS used? or refused]
  const rows: Array<[SslMode, boolean, boolean | 'refused']> = [
    ['disable', false, false],
    ['allow', false, false],
    ['prefer', true, false],
    ['require', true, 'refused'],
    ['verify-ca', true, 'refused'],
    ['verify-full', true, 'refused'],
  ];
  for (const [sslmode, onUsesTls, offOutcome] of rows) {
    it(`sslmode=${sslmode} with ssl=on ${onUsesTls ? 'uses' : 'does not use'} TLS`, async () => {
      const session = await open(target(sslOn, sslmode));
      try {
        assert.equal(session.tls, onUsesTls);
        assert.match(session.describe, onUsesTls ? /\(TLSv1\.[23]\)$/ : /\(plaintext\)$/);
        const reply = await sessionQuery(session, sslInUse);
        assert.equal(reply.error, undefined);
        assert.equal(reply.value, onUsesTls ? 't' : 'f');
      } finally {
        close(session);
      }
    });
    it(`sslmode=${sslmode} with ssl=off ${offOutcome === 'refused' ? 'is refused' : 'connects in plaintext'}`, async () => {
      if (offOutcome === 'refused') {
        await expectFailure(
          open(target(sslOff, sslmode)),
          'ERR_UPSTREAM_SSL_REFUSED',
          `connection to server at "127.0.0.1", port ${sslOff.port} failed: server does not support SSL, but SSL was required`,
        );
        return;
      }
      const session = await open(target(sslOff, sslmode));
      try {
        assert.equal(session.tls, false);
        const reply = await sessionQuery(session, 'SELECT 42');
        assert.equal(reply.value, '42');
      } finally {
        close(session);
      }
    });
  }

  it('allow retries with TLS when the server rejects plaintext (hostnossl reject)', async () => {
    await sslOn.setHba(
      'local all all trust\nhostnossl all all 127.0.0.1/32 reject\nhostssl all all 127.0.0.1/32 trust\n',
    );
    try {
      const session = await open(target(sslOn, 'allow'));
      try {
        assert.equal(session.tls, true);
        assert.equal((await sessionQuery(session, sslInUse)).value, 't');
      } finally {
        close(session);
      }
      // prefer gets TLS first anyway; disable is rejected by the server itself
      const plain = await open(target(sslOn, 'disable'));
      const reply = await sessionQuery(plain, 'SELECT 1');
      close(plain);
      assert.match(reply.error?.get('M') ?? '', /pg_hba\.conf rejects connection/);
    } finally {
      await sslOn.setHba('local all all trust\nhost all all 127.0.0.1/32 trust\n');
    }
  });

  it('prefer retries without TLS when the server rejects TLS (hostssl reject)', async () => {
    await sslOn.setHba(
      'local all all trust\nhostssl all all 127.0.0.1/32 reject\nhostnossl all all 127.0.0.1/32 trust\n',
    );
    try {
      const session = await open(target(sslOn, 'prefer'));
      try {
        assert.equal(session.tls, false);
        assert.equal((await sessionQuery(session, sslInUse)).value, 'f');
      } finally {
        close(session);
      }
      // require has no fallback: the server's FATAL reaches the caller as the first reply
      const strict = await open(target(sslOn, 'require'));
      const reply = await sessionQuery(strict, 'SELECT 1');
      close(strict);
      assert.match(reply.error?.get('M') ?? '', /pg_hba\.conf rejects connection/);
    } finally {
      await sslOn.setHba('local all all trust\nhost all all 127.0.0.1/32 trust\n');
    }
  });

  it('prefer with an untrusted root certificate falls back to plaintext, as libpq does', async () => {
    const session = await open(target(sslOn, 'prefer', { sslrootcert: pki.untrustedRootCert }));
    try {
      assert.equal(session.tls, false);
      assert.equal((await sessionQuery(session, sslInUse)).value, 'f');
    } finally {
      close(session);
    }
    // libpq itself (15 and 18): a failed certificate check is a failed handshake, and prefer
    // retries without TLS
    for (const libpq of ['system', '18'] as const) {
      const out = await psqlOk({
        conninfo: `host=127.0.0.1 port=${sslOn.port} user=postgres sslmode=prefer sslrootcert=${pki.untrustedRootCert}`,
        sql: sslInUse,
        libpq,
      });
      assert.equal(out, 'f', `libpq ${libpq}`);
    }
  });

  it('require with a root certificate present verifies the chain (acts as verify-ca)', async () => {
    await expectFailure(
      open(target(sslOn, 'require', { sslrootcert: pki.untrustedRootCert })),
      'ERR_UPSTREAM_TLS',
      `connection to server at "127.0.0.1", port ${sslOn.port} failed: SSL error: certificate verify failed: unable to get local issuer certificate`,
    );
    const session = await open(target(sslOn, 'require', { sslrootcert: pki.caBundle }));
    assert.equal(session.tls, true);
    close(session);
  });

  it('verify-ca rejects a server signed by another CA', async () => {
    await expectFailure(
      open(target(sslOn, 'verify-ca', { sslrootcert: pki.untrustedRootCert })),
      'ERR_UPSTREAM_TLS',
      /failed: SSL error: certificate verify failed: unable to get local issuer certificate$/,
    );
  });

  it('verify-full checks the host name the user gave, not hostaddr', async () => {
    const ok = await open(
      target(sslOn, 'verify-full', { host: 'localhost', hostaddr: '127.0.0.1' }),
    );
    assert.equal(ok.tls, true);
    close(ok);
    // libpq names the hostaddr it connected to; the certificate is checked against host
    const expected = `connection to server at "127.0.0.1", port ${sslOn.port} failed: server certificate for "localhost" (and 2 other names) does not match host name "wrong.example"`;
    await expectFailure(
      open(target(sslOn, 'verify-full', { host: 'wrong.example', hostaddr: '127.0.0.1' })),
      'ERR_UPSTREAM_TLS',
      expected,
    );
    const psql = await runPsql({
      conninfo: `host=wrong.example hostaddr=127.0.0.1 port=${sslOn.port} user=postgres sslmode=verify-full sslrootcert=${pki.caBundle}`,
    });
    assert.equal(psql.stderr.trim(), `psql: error: ${expected}`);
    // verify-ca does not look at names
    const ca = await open(
      target(sslOn, 'verify-ca', { host: 'wrong.example', hostaddr: '127.0.0.1' }),
    );
    assert.equal(ca.tls, true);
    close(ca);
  });

  it('verify-full resolves a host name and shows the address it tried', async () => {
    const session = await open(target(sslOn, 'verify-full', { host: 'localhost' }));
    assert.equal(session.tls, true);
    close(session);
  });

  it('verify-ca without a root certificate fails with libpq’s message and hint', async () => {
    const error = await expectFailure(
      open(target(sslOn, 'verify-ca', { sslrootcert: undefined })),
      'ERR_UPSTREAM_TLS',
      `connection to server at "127.0.0.1", port ${sslOn.port} failed: root certificate file "${join(emptyHome, '.postgresql', 'root.crt')}" does not exist`,
    );
    assert.match(error.hint ?? '', /^Either provide the file, use the system's trusted roots/);
  });

  it('sslrootcert=system uses the system store (SSL_CERT_FILE) with verify-full', async () => {
    const session = await open(
      target(sslOn, 'verify-full', { sslrootcert: 'system', host: 'localhost' }),
      {
        SSL_CERT_FILE: pki.caBundle,
      },
    );
    assert.equal(session.tls, true);
    close(session);
    await expectFailure(
      open(target(sslOn, 'verify-full', { sslrootcert: 'system', host: 'localhost' }), {
        SSL_CERT_FILE: pki.untrustedRootCert,
      }),
      'ERR_UPSTREAM_TLS',
      /certificate verify failed/,
    );
  });

  it('sends the client certificate for hostssl … cert', async () => {
    const client = await pki.client('postgres');
    await sslOn.setHba('local all all trust\nhostssl all all 127.0.0.1/32 cert\n');
    try {
      const session = await open(
        target(sslOn, 'verify-full', { sslcert: client.cert, sslkey: client.key }),
      );
      try {
        const reply = await sessionQuery(
          session,
          'SELECT client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
        );
        assert.equal(reply.error, undefined);
        assert.equal(reply.value, '/CN=postgres');
      } finally {
        close(session);
      }
      const without = await open(target(sslOn, 'verify-full'));
      const reply = await sessionQuery(without, 'SELECT 1');
      close(without);
      assert.equal(reply.error?.get('M'), 'connection requires a valid client certificate');
    } finally {
      await sslOn.setHba('local all all trust\nhost all all 127.0.0.1/32 trust\n');
    }
  });

  it('refuses a client key readable by others, as libpq does', async () => {
    const client = await pki.client('postgres');
    const { chmodSync } = await import('node:fs');
    chmodSync(client.key, 0o644);
    await expectFailure(
      open(target(sslOn, 'require', { sslcert: client.cert, sslkey: client.key })),
      'ERR_UPSTREAM_TLS',
      /private key file ".*" has group or world access/,
    );
  });

  it('never uses TLS over a unix socket, even with sslmode=require', async () => {
    const session = await open({ host: sslOn.socketDir, port: sslOn.port, sslmode: 'require' });
    try {
      assert.equal(session.tls, false);
      assert.match(session.describe, /\.s\.PGSQL\.\d+ \(plaintext\)$/);
      assert.equal((await sessionQuery(session, 'SELECT 7')).value, '7');
    } finally {
      close(session);
    }
  });

  it('reports a refused connection with libpq’s words and hint', async () => {
    const port = await freePort();
    const error = await expectFailure(
      open({ host: '127.0.0.1', port, sslmode: 'prefer' }),
      'ERR_UPSTREAM_CONNECT',
      `connection to server at "127.0.0.1", port ${port} failed: Connection refused`,
    );
    assert.equal(
      error.hint,
      'Is the server running on that host and accepting TCP/IP connections?',
    );
    await expectFailure(
      open({ host: '/nonexistent-dir', port, sslmode: 'prefer' }),
      'ERR_UPSTREAM_CONNECT',
      `connection to server on socket "/nonexistent-dir/.s.PGSQL.${port}" failed: No such file or directory`,
    );
  });

  it('tries the hosts in order, or in random order with load_balance_hosts=random', async () => {
    const servers = (loadBalance: boolean) =>
      targetsFromConnInfo(
        resolveConnInfo(
          `host=127.0.0.1,127.0.0.1 port=${sslOn.port},${sslOff.port} sslmode=disable${loadBalance ? ' load_balance_hosts=random' : ''}`,
          { env: {} },
        ),
      );
    const portsUsed = async (loadBalance: boolean) => {
      const used = new Set<string>();
      for (let i = 0; i < 24; i++) {
        const session = await openFirstUpstreamSession(servers(loadBalance), STARTUP, {
          tlsEnvironment: { homeDir: emptyHome },
        });
        try {
          used.add((await sessionQuery(session, 'SELECT inet_server_port()')).value ?? '');
        } finally {
          close(session);
        }
      }
      return [...used].sort();
    };
    assert.deepEqual(await portsUsed(false), [String(sslOn.port)]);
    // both servers get sessions (all 24 on one would happen once in 8 million runs)
    assert.deepEqual(await portsUsed(true), [String(sslOff.port), String(sslOn.port)].sort());
  });

  it('cancels a running query over TLS with sendCancelRequest', async () => {
    const t = target(sslOn, 'verify-full');
    const session = await open(t);
    try {
      const reader = new MessageReader();
      const startup = await readUntilReady(session, reader, [session.firstBytes]);
      assert.ok(startup.backendKey, 'BackendKeyData received');
      session.socket.write(encodeQuery('SELECT pg_sleep(30)'));
      const running = readUntilReady(session, reader, []);
      // wait until the backend is really executing the sleep
      for (;;) {
        const active = await sslOn.sql(
          `SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'`,
        );
        if (active === '1') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await sendCancelRequest(t, startup.backendKey.processId, startup.backendKey.secretKey, {
        tlsEnvironment: { homeDir: emptyHome },
      });
      const reply = await running;
      // 57014 query_canceled: the cancel ended the sleep, which did not run out by itself.
      assert.equal(reply.error?.get('C'), '57014');
      assert.match(sslOn.log(), /canceling statement due to user request/);
    } finally {
      close(session);
    }
  });
});
