// The zero-configuration start a newcomer gets from `npm start`: `pgtunnel serve` with nothing
// configured runs a throwaway PostgreSQL behind the gateway and prints a psql command with
// sslmode=verify-full that works; Ctrl-C removes everything it made.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { runPsql } from '../helpers/clients.js';
import { startPgtunnel } from '../helpers/pgtunnel-process.js';
import { freePort } from '../helpers/ports.js';

describe('serve: demo mode', () => {
  it('prints a working psql command and cleans up on Ctrl-C', async () => {
    const port = await freePort();
    // no time limit on start-up (initdb and a new CA are slow on a busy machine): wait for the
    // banner or the process's exit
    const demo = await startPgtunnel(['serve', '--port', String(port)], { readyText: null });
    try {
      let command: RegExpExecArray | null = null;
      while (!command && demo.child.exitCode === null) {
        command = /psql "([^"]+)"/.exec(demo.output());
        if (!command) await delay(100);
      }
      assert.ok(command, `no psql command in the output:\n${demo.output()}`);
      const conninfo = command[1] ?? '';
      assert.match(conninfo, /sslmode=verify-full/);
      const root = /sslrootcert=(\S+)/.exec(conninfo)?.[1] ?? '';
      assert.ok(existsSync(root));
      const result = await runPsql({
        conninfo,
        args: [
          '-X',
          '-A',
          '-t',
          '-c',
          'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
          '-c',
          '\\conninfo',
        ],
      });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /SSL connection/);
      const exit = await demo.stop('SIGINT');
      assert.equal(exit.code, 0);
      assert.equal(existsSync(root), false, 'the demo certificates must be removed');
    } finally {
      await demo.stop('SIGKILL');
    }
  });
});
