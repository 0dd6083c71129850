// The gateway never removes a file that is not a socket: a regular file where its unix socket
// should be stops the start with a clear message, and the file is left as it was.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startPgtunnel } from '../helpers/pgtunnel-process.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';

describe('serve: a file in the way of the unix socket', () => {
  let pki: TestPki | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'pgtunnel-sock-'));
  after(async () => {
    await pki?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const workers of ['1', '2']) {
    it(`is left alone, and the start fails saying why (workers = ${workers})`, async () => {
      pki ??= await createTestPki();
      const port = await freePort();
      const path = join(dir, `.s.PGSQL.${port}`);
      writeFileSync(path, 'precious\n');
      const gateway = await startPgtunnel(
        [
          'serve',
          '--listen-addresses',
          '',
          '-k',
          dir,
          '--port',
          String(port),
          '--ssl-cert-file',
          pki.serverCert,
          '--ssl-key-file',
          pki.serverKey,
          '--upstream',
          'host=/nonexistent port=5432',
          '--workers',
          workers,
        ],
        { readyText: null },
      );
      // Either it stops by itself, or it started over the removed file: stop it then.
      const started = gateway.waitForLog('ready to accept connections').then(
        () => true,
        () => false,
      );
      if (await Promise.race([started, gateway.exited.then(() => false)])) {
        await gateway.stop('SIGINT');
        assert.fail('the gateway started: the file was removed');
      }
      assert.notEqual((await gateway.exited).code, 0);
      assert.match(gateway.output(), /the path exists and is not a socket/);
      assert.equal(readFileSync(path, 'utf8'), 'precious\n');
    });
  }
});
