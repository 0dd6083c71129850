// The refusal a forward's client gets, over real loopback sockets: SSL and GSSAPI requests are
// declined first so the FATAL comes where libpq prints it; cancels, direct TLS and silent
// clients are closed without a word.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { decodeErrorFields } from '../protocol/backend-error.js';
import {
  encodeCancelRequest,
  encodeGssEncRequest,
  encodeSslRequest,
  encodeStartupMessage,
} from '../protocol/frontend.js';
import { refuseClient } from './client-refusal.js';

const startup = encodeStartupMessage([['user', 'joe']]);

describe('client-refusal', () => {
  const servers: Server[] = [];
  after(() => {
    for (const server of servers) server.close();
  });

  /** A client socket whose server side is refused with `message`; resolves to the client. */
  async function refusedClient(timeoutMs?: number): Promise<Socket> {
    const server = createServer((socket) => void refuseClient(socket, 'tunnel down', timeoutMs));
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = connect((server.address() as { port: number }).port, '127.0.0.1');
    await once(client, 'connect');
    return client;
  }

  /** Everything the client receives until the server closes. */
  function received(client: Socket): Promise<Buffer> {
    const chunks: Buffer[] = [];
    client.on('data', (chunk: Buffer) => chunks.push(chunk));
    return new Promise((resolve) => client.once('close', () => resolve(Buffer.concat(chunks))));
  }

  /** Reads exactly `n` bytes. */
  async function read(client: Socket, n: number): Promise<Buffer> {
    let bytes = Buffer.alloc(0);
    while (bytes.length < n) {
      const [chunk] = (await once(client, 'data')) as [Buffer];
      bytes = Buffer.concat([bytes, chunk]);
    }
    return bytes;
  }

  const assertFatal = (bytes: Buffer) => {
    assert.equal(String.fromCharCode(bytes[0] ?? 0), 'E');
    assert.equal(bytes.readUInt32BE(1), bytes.length - 1);
    const fields = decodeErrorFields(bytes.subarray(5));
    assert.equal(fields.get('S'), 'FATAL');
    assert.equal(fields.get('C'), '08001');
    assert.equal(fields.get('M'), 'pgtunnel ssh: tunnel down');
  };

  it('answers a StartupMessage with the FATAL', async () => {
    const client = await refusedClient();
    const all = received(client);
    client.write(startup);
    assertFatal(await all);
  });

  it('declines SSLRequest, then answers the StartupMessage (psql sslmode=prefer)', async () => {
    const client = await refusedClient();
    // split across writes, as a slow client may send it
    const ssl = encodeSslRequest();
    client.write(ssl.subarray(0, 3));
    await delay(20);
    client.write(ssl.subarray(3));
    assert.equal((await read(client, 1)).toString(), 'N');
    const all = received(client);
    client.write(startup);
    assertFatal(await all);
  });

  it('declines GSSENCRequest and SSLRequest once each', async () => {
    const client = await refusedClient();
    client.write(encodeGssEncRequest());
    assert.equal((await read(client, 1)).toString(), 'N');
    client.write(encodeSslRequest());
    assert.equal((await read(client, 1)).toString(), 'N');
    // A second SSLRequest is not answered 'N' again: PostgreSQL reads it as a protocol version.
    const all = received(client);
    client.write(encodeSslRequest());
    const fields = decodeErrorFields((await all).subarray(5));
    assert.equal(fields.get('C'), '0A000');
    assert.equal(
      fields.get('M'),
      'unsupported frontend protocol 1234.5679: server supports 3.0 to 3.2',
    );
  });

  it('closes on a CancelRequest, direct TLS or silence, sending nothing', async () => {
    const cancel = await refusedClient();
    const cancelBytes = received(cancel);
    cancel.write(encodeCancelRequest(42, Buffer.alloc(4)));
    assert.equal((await cancelBytes).length, 0);

    const tls = await refusedClient();
    const tlsBytes = received(tls);
    tls.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05]));
    assert.equal((await tlsBytes).length, 0);

    const silent = await refusedClient(200);
    assert.equal((await received(silent)).length, 0);
  });

  it("answers a malformed first packet with PostgreSQL's error", async () => {
    const client = await refusedClient();
    const all = received(client);
    client.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]));
    const fields = decodeErrorFields((await all).subarray(5));
    assert.equal(fields.get('C'), '08P01');
    assert.equal(fields.get('M'), 'invalid length of startup packet');
  });
});
