// Certificate expiry and handshake failures, seen from outside: /metrics exports the served
// certificate's not-after, every CA's and every CRL's next update, and they change when a reload
// replaces the certificate; the expiry warning reaches the log, /status and the console; failed
// handshakes are counted by reason with the same reason (and the client address) in the log.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { encodeStartupMessage } from '../../src/protocol/frontend.js';
import { psqlOk, runPsql } from '../helpers/clients.js';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';
import { freePort } from '../helpers/ports.js';
import { collect, openRaw } from '../helpers/raw-client.js';

const decimalSerial = (file: string) =>
  BigInt(`0x${new X509Certificate(readFileSync(file)).serialNumber}`).toString(10);
const notAfterSeconds = (file: string) =>
  new Date(new X509Certificate(readFileSync(file)).validTo).getTime() / 1000;

describe('serve: certificate expiry and handshake failures as metrics', () => {
  let env: GatewayEnv;
  let adminPort: number;
  let certFile: string;
  let keyFile: string;

  const metricsText = async () => (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  const seriesValue = (text: string, prefix: string): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(prefix));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  const failures = async (reason: string): Promise<number> =>
    seriesValue(await metricsText(), `pgtunnel_tls_handshake_failures_total{reason="${reason}"}`) ??
    Number.NaN;
  const handshakeLogs = (reason: string) =>
    env.gateway.logs().filter((r) => String(r.msg).startsWith(`TLS handshake failed: ${reason}`));
  /**
   * Runs `action`, waits for its `TLS handshake failed: REASON` log line (logged right after
   * the counter moves) and checks the counter went up by one; returns the log record.
   */
  const expectFailure = async (reason: string, action: () => Promise<unknown>) => {
    const counted = await failures(reason);
    const logged = handshakeLogs(reason).length;
    await action();
    while (handshakeLogs(reason).length === logged) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(
      await failures(reason),
      counted + 1,
      `pgtunnel_tls_handshake_failures_total{reason="${reason}"}`,
    );
    const record = handshakeLogs(reason).at(-1);
    assert.equal(record?.client, '127.0.0.1');
    assert.equal(record?.reason, reason);
    return record;
  };
  const reload = async () => {
    const before = env.gateway.logs().filter((r) => r.msg === 'configuration reloaded').length;
    env.gateway.child.kill('SIGHUP');
    for (;;) {
      const outcomes = env.gateway
        .logs()
        .filter(
          (r) => r.msg === 'configuration reloaded' || String(r.msg).startsWith('reload failed'),
        );
      if (outcomes.length > before) {
        assert.equal(
          outcomes.at(-1)?.msg,
          'configuration reloaded',
          JSON.stringify(outcomes.at(-1)),
        );
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  before(async () => {
    adminPort = await freePort();
    env = await startGatewayEnv({
      serveArgs: ['--admin-listen', `127.0.0.1:${adminPort}`],
      configFile: ({ pki, dir }) => {
        certFile = join(dir, 'server.crt');
        keyFile = join(dir, 'server.key');
        copyFileSync(pki.serverCert, certFile);
        copyFileSync(pki.serverKey, keyFile);
        return [
          "ssl_cert_file = 'server.crt'",
          "ssl_key_file = 'server.key'",
          `ssl_ca_file = '${pki.caBundle}'`,
          `ssl_crl_file = '${pki.crlBundle}'`,
          // Longer than any test certificate lives: the warning must show.
          "ssl_cert_expiry_warning = '3650d'",
          "admin_users = 'postgres'",
          '',
        ].join('\n');
      },
    });
  });
  after(async () => {
    await env?.close();
  });

  it('exports not-after of the served and CA certificates and the CRLs next update', async () => {
    const text = await metricsText();
    const served = `pgtunnel_server_certificate_not_after_timestamp_seconds{file="${certFile}",subject="CN=localhost",serial="${decimalSerial(certFile)}"}`;
    assert.equal(seriesValue(text, served), notAfterSeconds(certFile), text);
    const cas = text
      .split('\n')
      .filter((l) => l.startsWith('pgtunnel_ca_certificate_not_after_timestamp_seconds{'));
    assert.equal(cas.length, 2, 'root and intermediate');
    assert.ok(
      cas.some((l) => l.includes('subject="CN=pgtunnel Test Root CA"')),
      cas.join('\n'),
    );
    const crls = text
      .split('\n')
      .filter((l) => l.startsWith('pgtunnel_crl_next_update_timestamp_seconds{'));
    assert.equal(crls.length, 2, text);
    for (const line of crls) assert.ok(Number(line.split(' ').at(-1)) > Date.now() / 1000, line);
  });

  it('warns in the log, on /status and in the console that the certificate expires soon', async () => {
    const warning = env.gateway.logs().find((r) => String(r.msg).startsWith('server certificate'));
    assert.ok(warning, 'a warning at start');
    assert.match(String(warning.msg), /expires in \d+ days .*replace it and reload/);
    assert.equal(warning.level, 40);
    const status = (await (await fetch(`http://127.0.0.1:${adminPort}/status`)).json()) as {
      warnings: string[];
      certificates: Array<{ kind: string; serial: string | null; days_left: number }>;
    };
    assert.equal(status.warnings.length, 1);
    assert.match(status.warnings[0] ?? '', /server certificate .* expires in \d+ days/);
    assert.ok(
      status.certificates.some((c) => c.kind === 'served' && c.serial === decimalSerial(certFile)),
    );
  });

  it('the metrics change when a reload replaces the certificate', async () => {
    const before = await metricsText();
    const oldSerial = decimalSerial(certFile);
    const replacement = await env.pki.otherServer({
      cn: 'localhost',
      sans: ['DNS:localhost', 'IP:127.0.0.1'],
    });
    copyFileSync(replacement.cert, certFile);
    copyFileSync(replacement.key, keyFile);
    const newSerial = decimalSerial(certFile);
    assert.notEqual(newSerial, oldSerial);
    assert.ok(before.includes(`serial="${oldSerial}"`));
    // On disk only: the metrics still describe the certificate being served.
    assert.ok((await metricsText()).includes(`serial="${oldSerial}"`));

    await reload();
    const after = await metricsText();
    assert.ok(after.includes(`serial="${newSerial}"`), after);
    assert.ok(!after.includes(`serial="${oldSerial}"`), 'the replaced certificate is gone');
    const console = await psqlOk({
      conninfo: env.conninfo('dbname=pgtunnel'),
      args: ['-X', '-A', '-t', '-F', '|', '-c', 'SHOW CERTIFICATES'],
    });
    assert.match(
      console,
      new RegExp(`^served\\|${certFile}\\|CN=localhost\\|[^|]*\\|${newSerial}\\|`, 'm'),
    );
  });

  it('counts a client certificate from an unknown CA, with the reason and address in the log', async () => {
    const mallory = await env.pki.client('mallory', { untrusted: true });
    const record = await expectFailure('unknown_ca', async () => {
      const result = await runPsql({
        conninfo: env.conninfo(`sslcert=${mallory.cert} sslkey=${mallory.key}`),
      });
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /connection requires a valid client certificate/);
    });
    assert.equal(
      record?.msg,
      'TLS handshake failed: unknown_ca (client certificate did not verify)',
    );
    assert.equal(record?.client_dn, 'CN=mallory');
  });

  it('counts expired and revoked client certificates', async () => {
    const old = await env.pki.client('old', { expired: true });
    await expectFailure('expired', async () => {
      const result = await runPsql({
        conninfo: env.conninfo(`sslcert=${old.cert} sslkey=${old.key}`),
      });
      assert.notEqual(result.code, 0);
    });
    const gone = await env.pki.client('gone');
    await env.pki.revoke(gone.cert);
    await reload();
    await expectFailure('revoked', async () => {
      const result = await runPsql({
        conninfo: env.conninfo(`sslcert=${gone.cert} sslkey=${gone.key}`),
      });
      assert.notEqual(result.code, 0);
    });
  });

  /** SSLRequest, then a TLS handshake with `options` that the gateway is expected to refuse. */
  const tlsAttempt = async (options: { maxVersion: 'TLSv1.2'; ciphers: string }) => {
    const socket = await openRaw(env.port);
    socket.write(Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]));
    await new Promise((resolve) => socket.once('data', resolve));
    await new Promise<void>((resolve) => {
      const tls = tlsConnect({
        socket,
        servername: 'localhost',
        rejectUnauthorized: false,
        ...options,
      });
      tls.once('error', () => resolve());
      tls.once('secureConnect', () => resolve());
    });
    socket.destroy();
  };

  it('counts plaintext after SSLRequest (not_tls), no common cipher and an old TLS version', async () => {
    const sslRequest = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
    await expectFailure('not_tls', async () => {
      const raw = await openRaw(env.port);
      raw.write(sslRequest);
      await new Promise((resolve) => raw.once('data', resolve));
      const closed = collect(raw);
      raw.write(encodeStartupMessage([['user', 'postgres']]));
      await closed;
    });
    // The server's key is ECDSA: a TLS 1.2 client offering only RSA-authenticated suites.
    await expectFailure('no_shared_cipher', () =>
      tlsAttempt({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' }),
    );
    await expectFailure('protocol_version', async () => {
      const socket = await openRaw(env.port);
      socket.write(sslRequest);
      await new Promise((resolve) => socket.once('data', resolve));
      await new Promise<void>((resolve) => {
        const tls = tlsConnect({
          socket,
          servername: 'localhost',
          rejectUnauthorized: false,
          minVersion: 'TLSv1',
          maxVersion: 'TLSv1.1',
          ciphers: 'DEFAULT@SECLEVEL=0',
        });
        tls.once('error', () => resolve());
        tls.once('secureConnect', () => resolve());
      });
      socket.destroy();
    });
  });
});
