// A local client of `connect` that leaves during the startup phase is let go at once, not when
// the startup timeout (here an hour) runs out.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { createSecureContext } from 'node:tls';
import { silentLogger } from '../log.js';
import { encodeSslRequest } from '../protocol/frontend.js';
import { handleLocalConnection } from './local-connection.js';

const AN_HOUR = 3_600_000;

async function servedClient(): Promise<{
  client: Socket;
  served: Promise<unknown>;
  done: () => void;
}> {
  const server = createServer({ allowHalfOpen: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const accepted = once(server, 'connection');
  const client = connect({ port, host: '127.0.0.1' });
  const [socket] = (await accepted) as [Socket];
  const served = handleLocalConnection(
    socket,
    {
      name: 'local',
      targets: [],
      // No certificate: the handshake is never reached in these cases.
      localTls: createSecureContext({}),
      logger: silentLogger,
      startupTimeoutMs: AN_HOUR,
    },
    1,
    '127.0.0.1',
  );
  return {
    client,
    served,
    done: () => {
      client.destroy();
      socket.destroy();
      server.close();
    },
  };
}

describe('handleLocalConnection when the client leaves', () => {
  it('ends after an SSLRequest answered S and a FIN, without waiting for the timeout', async () => {
    const { client, served, done } = await servedClient();
    try {
      client.write(encodeSslRequest());
      const [answer] = (await once(client, 'data')) as [Buffer];
      assert.equal(answer.toString('latin1'), 'S');
      client.end();
      assert.equal(await served, undefined);
    } finally {
      done();
    }
  });

  it('ends after half a startup packet and a FIN', async () => {
    const { client, served, done } = await servedClient();
    try {
      client.end(Buffer.from([0, 0, 0]));
      assert.equal(await served, undefined);
    } finally {
      done();
    }
  });
});
