// `npm start` where 6432 is taken (PgBouncer's port): the demo starts on a free port, says which
// and how to choose one, proves a verify-full session itself and explains pg_stat_ssl's leg; the
// psql command it prints works, and Ctrl-C removes what it made.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { runPsql } from '../helpers/clients.js';
import { startPgtunnel } from '../helpers/pgtunnel-process.js';

/** Holds 6432 on loopback, or returns undefined when something else already holds it. */
function hold6432(): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EADDRINUSE' ? resolve(undefined) : reject(error),
    );
    server.listen(6432, '127.0.0.1', () => resolve(server));
  });
}

describe('demo when 6432 is taken', () => {
  it('listens on a free port, says so, and its psql command works', async () => {
    const held = await hold6432();
    const demo = await startPgtunnel(['serve'], { readyText: null });
    try {
      while (!demo.output().includes('Press Ctrl-C')) {
        if (demo.child.exitCode !== null) assert.fail(`the demo exited:\n${demo.output()}`);
        await delay(100);
      }
      const output = demo.output();
      const note =
        /Port 6432 is in use \(PgBouncer's default port\), so the demo listens on (\d+); choose one with `npm start -- -p PORT`/.exec(
          output,
        );
      assert.ok(note, output);
      assert.match(
        output,
        /Checked just now: a client connected through the gateway with sslmode=verify-full \(TLSv1\.3/,
      );
      assert.match(
        output,
        /pg_stat_ssl shows ssl = f for that session: pg_stat_ssl describes the connection\nPostgreSQL itself accepted, the gateway's own/,
      );
      const conninfo = /psql "([^"]+)"/.exec(output)?.[1] ?? '';
      assert.match(conninfo, new RegExp(`port=${note[1]} .*sslmode=verify-full`));
      const result = await runPsql({ conninfo, args: ['-X', '-A', '-t', '-c', 'SELECT 1'] });
      assert.equal(result.code, 0, result.stderr);
      const root = /sslrootcert=(\S+)/.exec(conninfo)?.[1] ?? '';
      assert.equal((await demo.stop('SIGINT')).code, 0);
      assert.equal(existsSync(root), false, 'the demo files are removed');
    } finally {
      await demo.stop('SIGKILL');
      held?.close();
    }
  });
});
