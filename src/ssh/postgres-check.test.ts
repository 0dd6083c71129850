// --check's verdicts: from bytes (pure), and over loopback sockets that behave like
// PostgreSQL with and without SSL, like an SSH server, and like a silent service.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { fatal } from '../protocol/backend-error.js';
import { SqlState } from '../protocol/codes.js';
import { checkPostgres, describeOutcome, interpretSslReply } from './postgres-check.js';

const none = Buffer.alloc(0);

describe('postgres-check: interpretSslReply', () => {
  it('accepts exactly one S or N byte', () => {
    assert.deepEqual(interpretSslReply(none, Buffer.from('S'), false), {
      kind: 'postgres',
      ssl: true,
    });
    assert.deepEqual(interpretSslReply(none, Buffer.from('N'), false), {
      kind: 'postgres',
      ssl: false,
    });
  });

  it('reads an ErrorResponse answer', () => {
    const reply = fatal(SqlState.TOO_MANY_CONNECTIONS, 'sorry, too many clients already');
    assert.deepEqual(interpretSslReply(none, reply, true), {
      kind: 'postgres-error',
      message: 'sorry, too many clients already',
    });
  });

  it('rejects servers that speak first, say more than one byte, or say nothing', () => {
    const ssh = interpretSslReply(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'), none, false);
    assert.equal(ssh.kind, 'not-postgres');
    assert.match(
      describeOutcome(ssh, 'db:5432'),
      /^db:5432 does not answer like PostgreSQL: it spoke first \("SSH-2\.0-OpenSSH_9\.2"\)/,
    );
    const http = interpretSslReply(none, Buffer.from('HTTP/1.1 400 Bad Request\r\n'), true);
    assert.match(
      describeOutcome(http, 'x:80'),
      /answered an SSLRequest with "HTTP\/1\.1 400 Bad Request"/,
    );
    const binary = interpretSslReply(none, Buffer.from([0x53, 0x00, 0xff]), false);
    assert.match(describeOutcome(binary, 'x:1'), /with bytes 53 00 ff$/);
    assert.match(
      describeOutcome(interpretSslReply(none, none, true), 'x:1'),
      /closed the connection without answering an SSLRequest/,
    );
  });
});

describe('postgres-check: checkPostgres over sockets', () => {
  const servers: Server[] = [];
  after(() => {
    for (const server of servers) server.close();
  });

  const serve = async (onConnection: (socket: Socket) => void) => {
    const server = createServer(onConnection);
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return socket;
  };
  const timings = { quietMs: 50, answerTimeoutMs: 500 };

  it('recognises PostgreSQL without SSL', async () => {
    const stream = await serve((socket) => {
      socket.once('data', (chunk) => {
        assert.equal(chunk.toString('hex'), '0000000804d2162f');
        socket.write('N');
      });
      socket.on('error', () => {});
    });
    assert.deepEqual(await checkPostgres(stream, timings), { kind: 'postgres', ssl: false });
  });

  it('recognises an SSH server that greets first', async () => {
    const stream = await serve((socket) => {
      socket.write('SSH-2.0-OpenSSH_9.2p1\r\n');
      socket.on('error', () => {});
    });
    const outcome = await checkPostgres(stream, timings);
    assert.equal(outcome.kind, 'not-postgres');
  });

  it('gives up on a server that never answers', async () => {
    const stream = await serve((socket) => socket.on('error', () => {}));
    const outcome = await checkPostgres(stream, timings);
    assert.deepEqual(outcome, { kind: 'not-postgres', detail: 'it did not answer an SSLRequest' });
  });
});
