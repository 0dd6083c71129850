// The command run through a tunnel sees PGHOST/PGPORT/PGSSLMODE and its status comes back as a
// shell would report it; the tunnel is closed once it ends.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  operandsAndCommand,
  runThroughTunnel,
  shellStatus,
  tunnelEnvironment,
} from './run-through-tunnel.js';

describe('running a command through a tunnel', () => {
  it('sets the libpq variables (an IPv6 host unbracketed)', () => {
    assert.deepEqual(tunnelEnvironment({ host: '[::1]', port: 5433, sslmode: 'disable' }), {
      PGHOST: '::1',
      PGPORT: '5433',
      PGSSLMODE: 'disable',
    });
    assert.deepEqual(tunnelEnvironment({ host: '127.0.0.1', port: 6000 }), {
      PGHOST: '127.0.0.1',
      PGPORT: '6000',
    });
  });
  it('takes the command from after --, whatever commander put in [destination]', () => {
    const argv = ['node', 'main', 'ssh', '-L', '0:h:5432', 'joe@db', '--', 'psql', '-c', 'x'];
    assert.deepEqual(operandsAndCommand(['joe@db', 'psql', '-c', 'x'], argv), {
      operands: ['joe@db'],
      command: ['psql', '-c', 'x'],
    });
    // a profile gives the destination: the first word after -- is still the command's
    const profile = ['node', 'main', 'ssh', '--profile', 'p', '--', 'psql'];
    assert.deepEqual(operandsAndCommand(['psql'], profile), { operands: [], command: ['psql'] });
    assert.deepEqual(operandsAndCommand(['joe@db'], ['node', 'main', 'ssh', 'joe@db']), {
      operands: ['joe@db'],
      command: [],
    });
  });
  it('reports statuses as a shell does', () => {
    assert.equal(shellStatus(3, null), 3);
    assert.equal(shellStatus(null, 'SIGTERM'), 143);
  });
  it('passes the command its environment and its exit status back, then closes', async () => {
    let closed = 0;
    const status = await runThroughTunnel(
      [
        process.execPath,
        '-e',
        'process.exit(process.env.PGHOST === "127.0.0.1" && process.env.PGPORT === "7" ? 5 : 9)',
      ],
      { host: '127.0.0.1', port: 7 },
      async () => {
        closed++;
      },
    );
    assert.equal(status, 5);
    assert.equal(closed, 1);
  });
  it('gives 127 for a command that does not exist', async () => {
    const status = await runThroughTunnel(
      ['pgtunnel-no-such-command'],
      { host: 'h', port: 1 },
      async () => {},
    );
    assert.equal(status, 127);
  });
});
