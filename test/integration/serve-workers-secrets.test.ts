// Nothing secret reaches the workers through their environment (the configuration, -c values
// included, and the TLS ticket keys go over the IPC channel), and the upstream password is
// masked in every log line, at every level.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { psqlOk } from '../helpers/clients.js';
import {
  allWorkersServe,
  childPids,
  startWorkersGateway,
  type WorkersGateway,
  waitForStatus,
} from '../helpers/worker-status.js';

const WORKERS = 2;
const PASSWORD = 'never-logged-7f3a';

describe('serve: secrets with workers', () => {
  let gateway: WorkersGateway;
  before(async () => {
    gateway = await startWorkersGateway(WORKERS, {
      serveArgs: ['-c', 'log_min_messages=debug', '-c', 'log_connections=on'],
      upstreamExtra: `sslmode=disable password=${PASSWORD}`,
    });
  });
  after(async () => {
    await gateway?.env.close();
  });

  it('keeps -c values and ticket keys out of the workers’ environment', async () => {
    const { env } = gateway;
    for (const pid of await childPids(env.gateway.child.pid ?? 0)) {
      const environment = readFileSync(`/proc/${pid}/environ`, 'utf8');
      assert.doesNotMatch(environment, /PGTUNNEL_OVERRIDES|PGTUNNEL_TICKET_KEYS|log_min_messages/);
      assert.ok(
        !environment.includes(PASSWORD),
        'the upstream password is in a worker environment',
      );
    }
  });

  it('writes the upstream password in no log line, at any level', async () => {
    const { env, adminPort } = gateway;
    assert.equal(await psqlOk({ conninfo: env.conninfo() }), '1');
    env.gateway.child.kill('SIGHUP');
    await waitForStatus(adminPort, (s) => s.generation === 2 && allWorkersServe(WORKERS)(s));
    // A session was handed to a worker: the primary still exits by itself on SIGTERM (it used
    // to wait for ever for its listener to close, until the test's SIGKILL).
    assert.deepEqual(await env.gateway.stop('SIGTERM'), { code: 0, signal: null });
    const records = env.gateway.logs();
    assert.ok(
      records.some((r) => r.level === 20),
      'debug lines were logged',
    );
    const ready = records.find((r) => r.msg === 'ready to accept connections');
    assert.match(String(ready?.upstream), /password=\[redacted\]/);
    assert.ok(!env.gateway.output().includes(PASSWORD), 'the upstream password reached the log');
  });
});
