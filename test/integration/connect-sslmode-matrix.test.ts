// Every sslmode row through `pgtunnel connect`, against PostgreSQL with ssl on and with ssl
// off: twelve tunnels from one config file (stunnel-style sections), psql with sslmode=disable
// on the local side, the root certificate taken from PGSSLROOTCERT as libpq would.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SSL_MODES, type SslMode } from '../../src/libpq/sslmode.js';
import { runPsql } from '../helpers/clients.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import { type PgtunnelProcess, startPgtunnel } from '../helpers/pgtunnel-process.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';

/** What psql sees through the tunnel: TLS on the upstream leg (t/f), or libpq's refusal. */
const EXPECTED: Record<SslMode, { on: 't' | 'f'; off: 'f' | 'refused' }> = {
  disable: { on: 'f', off: 'f' },
  allow: { on: 'f', off: 'f' },
  prefer: { on: 't', off: 'f' },
  require: { on: 't', off: 'refused' },
  'verify-ca': { on: 't', off: 'refused' },
  'verify-full': { on: 't', off: 'refused' },
};

describe('every sslmode through pgtunnel connect', () => {
  let pki: TestPki;
  let sslOn: Cluster;
  let sslOff: Cluster;
  let tunnel: PgtunnelProcess;
  let dir: string;
  // each tunnel listens in `dir` on its own "port" (the socket file name)
  const socketPort = (mode: SslMode, server: 'on' | 'off') =>
    100 + SSL_MODES.indexOf(mode) * 2 + (server === 'on' ? 0 : 1);

  before(async () => {
    pki = await createTestPki();
    [sslOn, sslOff] = await Promise.all([
      startCluster({ ssl: { certFile: pki.serverCert, keyFile: pki.serverKey } }),
      startCluster(),
    ]);
    dir = mkdtempSync(join(tmpdir(), 'pgtunnel-matrix-'));
    const lines = ['# one tunnel per (sslmode, server)', 'log_level = info', ''];
    for (const mode of SSL_MODES) {
      for (const [server, cluster] of [
        ['on', sslOn],
        ['off', sslOff],
      ] as const) {
        lines.push(
          `[${mode}-ssl-${server}]`,
          `accept = ${dir}:${socketPort(mode, server)}`,
          `connect = host=localhost port=${cluster.port}`,
          `sslmode = ${mode}`,
          '',
        );
      }
    }
    const file = join(dir, 'tunnels.conf');
    writeFileSync(file, lines.join('\n'));
    tunnel = await startPgtunnel(['connect', '-f', file], {
      // libpq's environment: the root certificate for the verify-* rows comes from here
      env: { PGSSLROOTCERT: pki.caBundle, HOME: dir },
    });
  });
  after(async () => {
    await tunnel?.stop();
    await Promise.all([sslOn?.stop(), sslOff?.stop()]);
    await pki?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const mode of SSL_MODES) {
    for (const server of ['on', 'off'] as const) {
      const expected = EXPECTED[mode][server];
      it(`sslmode=${mode}, ssl=${server}: ${expected === 'refused' ? 'refused' : `TLS ${expected}`}`, async () => {
        const result = await runPsql({
          conninfo: `host=${dir} port=${socketPort(mode, server)} user=postgres dbname=postgres sslmode=disable`,
          sql: 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
        });
        if (expected === 'refused') {
          assert.notEqual(result.code, 0);
          assert.match(
            result.stderr,
            /FATAL: {2}connection to server at "localhost" \(127\.0\.0\.1\), port \d+ failed: server does not support SSL, but SSL was required/,
          );
          return;
        }
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stdout.trim(), expected);
      });
    }
  }
});
