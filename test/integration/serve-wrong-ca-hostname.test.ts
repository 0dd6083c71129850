// A client that trusts another CA, or asks for another host name, is refused by libpq itself
// with its usual messages: the gateway's certificate is checked like PostgreSQL's would be.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runPsql } from '../helpers/clients.js';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';

describe('serve: certificate checks seen by libpq', () => {
  let env: GatewayEnv;
  before(async () => {
    env = await startGatewayEnv();
  });
  after(async () => {
    await env?.close();
  });

  it('fails verify-full with the wrong root certificate', async () => {
    const result = await runPsql({
      conninfo: `host=localhost port=${env.port} user=postgres sslmode=verify-full sslrootcert=${env.pki.untrustedRootCert}`,
    });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /certificate verify failed/);
  });

  it('fails verify-full for a host name the certificate does not name', async () => {
    const result = await runPsql({
      conninfo: `host=db.example.com hostaddr=127.0.0.1 port=${env.port} user=postgres sslmode=verify-full sslrootcert=${env.pki.caBundle}`,
    });
    assert.notEqual(result.code, 0);
    assert.match(
      result.stderr,
      /server certificate for "localhost" \(and \d+ other names?\) does not match host name "db\.example\.com"/,
    );
  });

  it('accepts verify-ca for that same host name', async () => {
    const result = await runPsql({
      conninfo: `host=db.example.com hostaddr=127.0.0.1 port=${env.port} user=postgres sslmode=verify-ca sslrootcert=${env.pki.caBundle}`,
    });
    assert.equal(result.code, 0, result.stderr);
  });
});
