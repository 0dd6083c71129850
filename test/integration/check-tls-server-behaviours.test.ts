// `pgtunnel check` against a small PostgreSQL-speaking TLS endpoint built on Node's TLS server,
// which (unlike PostgreSQL) allows client-initiated renegotiation and resumes sessions: the
// findings PostgreSQL itself cannot produce — renegotiation allowed, a cleartext password
// request, a certificate about to expire, a chain out of order, no TLS 1.3.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { CaStore } from '../../src/ca/ca-store.js';
import { encodeBackendError } from '../../src/protocol/backend-error.js';
import { findingsOf, runCheck, runCheckJson } from '../helpers/check-cli.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';

const DAY_MS = 86_400_000;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

function cleartextPasswordRequest(): Buffer {
  const message = Buffer.alloc(9);
  message.write('R', 0);
  message.writeInt32BE(8, 1);
  message.writeInt32BE(3, 5);
  return message;
}

/** Answers SSLRequest with S and hands the socket to `tls`; refuses plaintext startups. */
function fakePostgres(tls: TlsServer): Server {
  return createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', (first: Buffer) => {
      const code = first.length >= 8 ? first.readUInt32BE(4) : 0;
      if (code === SSL_REQUEST) {
        socket.write('S');
        tls.emit('connection', socket);
      } else if (code === GSSENC_REQUEST) {
        socket.end('N');
      } else {
        socket.end(
          encodeBackendError({
            severity: 'FATAL',
            sqlstate: '28000',
            message:
              'no pg_hba.conf entry for host "127.0.0.1", user "x", database "x", no encryption',
          }),
        );
      }
    });
  });
}

describe('check: a TLS 1.2 endpoint that renegotiates, resumes and asks for a cleartext password', () => {
  let pki: TestPki;
  let tls: TlsServer;
  let server: Server;
  let port: number;
  before(async () => {
    pki = await createTestPki();
    const store = new CaStore(join(pki.dir, 'ca'));
    const soon = await store.issue({
      kind: 'server',
      commonName: 'localhost',
      sans: ['DNS:localhost', 'IP:127.0.0.1'],
      keyType: 'ecdsa-p256',
      notBefore: new Date(Date.now() - DAY_MS),
      notAfter: new Date(Date.now() + 10 * DAY_MS + DAY_MS / 2),
      certFile: join(pki.dir, 'soon.crt'),
      keyFile: join(pki.dir, 'soon.key'),
    });
    // The leaf, then the root, then the intermediate: out of order.
    const leaf =
      readFileSync(soon.certFile, 'utf8').split(/(?<=-----END CERTIFICATE-----\n)/)[0] ?? '';
    const chain =
      leaf + readFileSync(pki.rootCert, 'utf8') + readFileSync(pki.intermediateCert, 'utf8');
    tls = createTlsServer(
      { cert: chain, key: readFileSync(soon.keyFile), maxVersion: 'TLSv1.2' },
      (socket) => {
        socket.on('error', () => {});
        socket.once('data', () => socket.write(cleartextPasswordRequest()));
      },
    );
    tls.on('tlsClientError', () => {});
    server = fakePostgres(tls);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    port = typeof address === 'object' && address ? address.port : 0;
  });
  after(async () => {
    server?.close();
    tls?.close();
    await pki?.cleanup();
  });

  it('reports each behaviour with its severity and fix', async () => {
    const { result, findings } = await runCheckJson([
      `host=localhost port=${port} sslrootcert=${pki.caBundle}`,
    ]);
    assert.equal(
      result.code,
      0,
      JSON.stringify(
        findings.filter((f) => f.severity === 'fail'),
        null,
        1,
      ),
    );
    const one = (id: string, severity: string) => {
      const found = findingsOf(findings, id, severity);
      assert.equal(
        found.length,
        1,
        `${id}: ${JSON.stringify(findings.filter((f) => f.id === id))}`,
      );
      return found[0];
    };
    assert.match(one('renegotiation', 'warn')?.fix ?? '', /PostgreSQL refuses it/);
    assert.equal(
      one('session-resumption', 'info')?.title,
      'session resumption works (faster reconnects)',
    );
    assert.match(one('password-method', 'warn')?.title ?? '', /asks for a cleartext password/);
    assert.match(one('certificate-expiry', 'warn')?.title ?? '', /^expires in 10 days/);
    assert.match(
      one('certificate-chain-order', 'warn')?.fix ?? '',
      /the server certificate first, then each intermediate/,
    );
    assert.equal(one('tls-version', 'info')?.title, 'TLSv1.3 not accepted');
    assert.equal(one('plaintext-startup', 'ok')?.severity, 'ok');
    assert.equal(one('certificate-trust', 'ok')?.severity, 'ok');
    const warnings = await runCheck([
      '--fail-on',
      'warn',
      `host=localhost port=${port} sslrootcert=${pki.caBundle}`,
    ]);
    assert.equal(warnings.code, 1, 'warnings reach --fail-on warn');
    assert.match(warnings.stdout, /WARN {2}client-initiated renegotiation allowed \(TLS 1\.2\)/);
    assert.equal(
      one('client-certificate-request', 'info')?.title,
      'the server does not ask for a client certificate (cert authentication and clientcert= are not possible)',
    );
  });
});
