// Without an hba_file, the built-in rules still refuse a client certificate that fails
// verification (PostgreSQL fails the handshake for it whatever pg_hba.conf says), and say why;
// clients with a valid certificate or none pass.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { psqlOk, runPsql } from '../helpers/clients.js';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';

describe('built-in rules with ssl_ca_file and a revoked client certificate', () => {
  let env: GatewayEnv;
  before(async () => {
    env = await startGatewayEnv({
      configFile: ({ pki }) =>
        `ssl_ca_file = '${pki.caBundle}'\nssl_crl_file = '${pki.crlBundle}'\n`,
    });
  });
  after(async () => {
    await env?.close();
  });

  it('refuses the revoked certificate with its reason', async () => {
    const revoked = await env.pki.client('postgres');
    await env.pki.revoke(revoked.cert);
    await env.restart();
    const result = await runPsql({
      conninfo: env.conninfo(`sslcert=${revoked.cert} sslkey=${revoked.key}`),
    });
    assert.notEqual(result.code, 0, result.stdout);
    assert.match(result.stderr, /FATAL: {2}connection requires a valid client certificate/);
    assert.match(result.stderr, /DETAIL: {2}The client certificate has been revoked/);
  });

  it('admits a valid certificate and no certificate', async () => {
    const valid = await env.pki.client('postgres');
    assert.equal(
      await psqlOk({ conninfo: env.conninfo(`sslcert=${valid.cert} sslkey=${valid.key}`) }),
      '1',
    );
    assert.equal(await psqlOk({ conninfo: env.conninfo() }), '1');
  });
});
