// listenOn against real sockets: the errno wording with the listener's purpose, ssh's `*`
// (host '') on both families, and a path that is not a socket left alone.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { listenOn } from './listen.js';

describe('listenOn', () => {
  const servers: Server[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'pgtunnel-listen-'));
  after(() => {
    for (const server of servers) server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const server = () => {
    const created = createServer((socket) => socket.end());
    servers.push(created);
    return created;
  };

  it('names the address, the purpose and what to do when the port is taken', async () => {
    const first = server();
    await listenOn(first, { kind: 'tcp', host: '127.0.0.1', port: 0 });
    const { port } = first.address() as AddressInfo;
    await assert.rejects(
      listenOn(server(), { kind: 'tcp', host: '127.0.0.1', port }, { purpose: 'for -L x' }),
      {
        code: 'ERR_LISTEN',
        message: `could not listen on 127.0.0.1:${port} for -L x: the address is already in use (another PostgreSQL, pgtunnel or tunnel?); stop it or pick another port`,
      },
    );
  });

  it("binds host '' on both families with one socket", async () => {
    const any = server();
    await listenOn(any, { kind: 'tcp', host: '', port: 0 });
    const { port } = any.address() as AddressInfo;
    for (const host of ['127.0.0.1', '::1']) {
      const client = connect({ host, port });
      await once(client, 'connect');
      client.destroy();
    }
  });

  it('never removes a file that is not a socket', async () => {
    const path = join(dir, 'not-a-socket');
    writeFileSync(path, 'keep me');
    await assert.rejects(listenOn(server(), { kind: 'unix', path }), {
      code: 'ERR_LISTEN',
      message: `could not listen on ${path}: the path exists and is not a socket; remove it or choose another path`,
    });
    assert.equal(readFileSync(path, 'utf8'), 'keep me');
  });
});
