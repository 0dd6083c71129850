// ssh2's error shapes turned into messages: where, why, and what to try.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PgTunnelError } from '../errors.js';
import { channelRefused, type HopContext, translateSshError } from './ssh-errors.js';
import type { HopPlan } from './tunnel-plan.js';

const hop = (host: string, port = 22): HopPlan => ({
  alias: host,
  host,
  port,
  user: 'joe',
  hostKeyName: host,
  identityFiles: [],
  agentSocket: undefined,
  hostKeys: { files: [], strict: 'yes', hash: true },
});
const context = (extra: Partial<HopContext> = {}): HopContext => ({
  hop: hop('db.example.com'),
  via: hop('bastion', 2222),
  connectTimeoutMs: 15_000,
  keepalive: { intervalMs: 15_000, countMax: 3 },
  ...extra,
});
const ssh2Error = (message: string, fields: Record<string, string>) =>
  Object.assign(new Error(message), fields);

describe('ssh-errors', () => {
  it('names the hop and the hop it was reached through', () => {
    const error = translateSshError(
      ssh2Error('connect ECONNREFUSED', { code: 'ECONNREFUSED', level: 'client-socket' }),
      context(),
    );
    assert.equal(error.code, 'ERR_SSH');
    assert.equal(
      error.message,
      'cannot connect to the SSH server joe@db.example.com:22 (through joe@bastion:2222): ' +
        'connection refused (is sshd running and listening on port 22?)',
    );
  });

  it('explains timeouts and keep-alive loss with the settings involved', () => {
    const timeout = translateSshError(
      ssh2Error('Timed out while waiting for handshake', { level: 'client-timeout' }),
      context({ via: undefined }),
    );
    assert.match(timeout.message, /did not finish connecting within 15 s \(ConnectTimeout\)/);
    const keepalive = translateSshError(
      ssh2Error('Keepalive timeout', { level: 'client-timeout' }),
      context({ via: undefined }),
    );
    assert.match(keepalive.message, /stopped answering keep-alives \(3 missed, every 15 s;/);
  });

  it('lists accepted and tried methods on authentication failure', () => {
    const error = translateSshError(
      ssh2Error('All configured authentication methods failed', { level: 'client-authentication' }),
      context({
        via: undefined,
        report: { serverMethods: ['password'], tried: [], notes: ['no ssh-agent'] },
      }),
    );
    assert.equal(error.code, 'ERR_SSH_AUTH');
    assert.equal(
      error.message,
      'SSH authentication failed for joe@db.example.com:22: the server accepts password; no key ' +
        'was available to try; no ssh-agent. pgtunnel ssh authenticates with keys only (ssh-agent or -i)',
    );
  });

  it('prefers the host-key refusal recorded by the verifier', () => {
    const refusal = new PgTunnelError('ERR_SSH_HOST_KEY', 'HOST KEY MISMATCH for db');
    const error = translateSshError(
      ssh2Error('Host denied (verification failed)', { level: 'handshake' }),
      context({ hostKeyFailure: refusal }),
    );
    assert.equal(error, refusal);
  });

  it('words channel refusals, with a hint for administrative prohibition', () => {
    const refused = channelRefused(
      new Error('(SSH) Channel open failure: Connection refused'),
      hop('db.example.com'),
      'localhost',
      5432,
    );
    assert.equal(
      refused.message,
      'the SSH server joe@db.example.com:22 refused to open a channel to localhost:5432: Connection refused',
    );
    const prohibited = channelRefused(
      new Error('(SSH) Channel open failure: administratively prohibited: open failed'),
      hop('h'),
      'fd00::5',
      5432,
    );
    assert.match(
      prohibited.message,
      /to \[fd00::5\]:5432: administratively prohibited: open failed \(sshd has AllowTcpForwarding no/,
    );
  });
});
