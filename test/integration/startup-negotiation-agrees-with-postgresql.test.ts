// Replays every row of test/fixtures/startup/negotiation.eval on real sockets against
// PostgreSQL 18, `pgtunnel serve` in front of it, and the local side of `pgtunnel connect`:
// where the table claims PostgreSQL's behaviour all answer alike; where it says `pg:`,
// PostgreSQL must do what the row says it does, so every deliberate difference is known and
// still true.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { decodeErrorFields } from '../../src/protocol/backend-error.js';
import { type GatewayEnv, startGatewayEnv } from '../helpers/gateway-env.js';
import {
  type Conversation,
  describeRow,
  fatalReply,
  readNegotiationTable,
  replyWords,
  type TableContext,
  type TableRow,
} from '../helpers/negotiation-table.js';
import { type PgtunnelProcess, startPgtunnel } from '../helpers/pgtunnel-process.js';
import { freePort } from '../helpers/ports.js';

const HBA = 'local all all trust\nhost all all 127.0.0.1/32 trust\n';

/** Reads what a server sends, one reply at a time, across the switch to TLS. */
class ReplyReader {
  private buffered = Buffer.alloc(0);
  private closed = false;
  private wake: (() => void) | undefined;

  constructor(private stream: Socket | TLSSocket) {
    this.follow(stream);
  }

  follow(stream: Socket | TLSSocket): void {
    this.stream = stream;
    stream.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.wake?.();
    });
    stream.on('error', () => {});
    stream.once('close', () => {
      this.closed = true;
      this.wake?.();
    });
  }

  /** Stops reading the raw socket before TLS takes it over. */
  release(): Socket {
    this.stream.removeAllListeners('data');
    this.stream.removeAllListeners('close');
    assert.equal(this.buffered.length, 0, 'bytes arrived before the TLS handshake');
    return this.stream as Socket;
  }

  private async until(enough: () => boolean): Promise<void> {
    while (!enough() && !this.closed) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /** The next reply: S, N, close, startup, or a fatal (after which the server must close). */
  async next(): Promise<string> {
    await this.until(() => this.buffered.length > 0);
    if (this.buffered.length === 0) return 'close';
    const type = String.fromCharCode(this.buffered[0] ?? 0);
    if (type === 'S' || type === 'N') {
      this.buffered = this.buffered.subarray(1);
      return type;
    }
    if (type === 'E' && this.buffered.subarray(1, 7).toString('latin1') === 'FATAL:') {
      // Protocol 2.0's ErrorResponse: a string, "FATAL:  message\n".
      await this.until(() => false);
      const text = this.buffered.toString('utf8', 1).replace(/\0$/, '').trim();
      return `fatal-v2 ${JSON.stringify(text.replace(/^FATAL:\s+/, ''))}`;
    }
    await this.until(
      () => this.buffered.length >= 5 && this.buffered.length >= 1 + this.buffered.readUInt32BE(1),
    );
    if (type === 'R') return 'startup';
    if (type === 'E') {
      const length = this.buffered.readUInt32BE(1);
      const fields = decodeErrorFields(this.buffered.subarray(5, 1 + length));
      this.buffered = this.buffered.subarray(1 + length);
      await this.until(() => false);
      return fatalReply(fields.get('C') ?? '', fields.get('M') ?? '');
    }
    return `unexpected ${replyWords(this.buffered).join(' ')}`;
  }
}

function open(target: string | number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket =
      typeof target === 'string'
        ? netConnect({ path: target }, () => resolve(socket))
        : netConnect({ port: target, host: '127.0.0.1' }, () => resolve(socket));
    socket.once('error', reject);
  });
}

function handshake(raw: Socket, alpn: boolean): Promise<TLSSocket | undefined> {
  return new Promise((resolve) => {
    const tls = tlsConnect({
      socket: raw,
      servername: 'localhost',
      rejectUnauthorized: false,
      ...(alpn ? { ALPNProtocols: ['postgresql'] } : {}),
    });
    tls.once('secureConnect', () => resolve(tls));
    tls.once('error', () => resolve(undefined));
    tls.once('close', () => resolve(undefined));
  });
}

/** Plays the client's steps and returns the replies, as the table writes them. */
async function replay(target: string | number, conversation: Conversation): Promise<string[]> {
  const raw = await open(target);
  let stream: Socket | TLSSocket = raw;
  const reader = new ReplyReader(raw);
  const seen: string[] = [];
  const ended = () => {
    const last = seen.at(-1) ?? '';
    return last === 'close' || last === 'startup' || last.startsWith('fatal');
  };
  try {
    for (const [index, step] of conversation.steps.entries()) {
      if (ended()) break;
      const isLast = index === conversation.steps.length - 1;
      if (step.kind === 'send') {
        stream.write(step.bytes);
      } else if (step.kind === 'eof') {
        stream.end();
      } else {
        const tls = await handshake(reader.release(), step.alpn);
        if (!tls) {
          seen.push('close');
          break;
        }
        stream = tls;
        reader.follow(tls);
      }
      if (!isLast) {
        // Bytes followed by the client's end are not a request: nothing to wait for in between.
        const next = conversation.steps[index + 1];
        if (step.kind === 'send' && next?.kind !== 'eof') seen.push(await reader.next());
        continue;
      }
      do seen.push(await reader.next());
      while (!ended());
    }
  } finally {
    stream.destroy();
    raw.destroy();
  }
  return seen;
}

/** A cancel is taken without an answer: on the wire, the server just closes. */
const onTheWire = (replies: string[]) => replies.map((r) => (r === 'cancel' ? 'close' : r));

describe('startup negotiation: the table against PostgreSQL 18 and pgtunnel serve', () => {
  let env: GatewayEnv;
  let connect: PgtunnelProcess | undefined;
  let connectPort = 0;
  const connectDir = mkdtempSync(join(tmpdir(), 'pgtunnel-negotiation-'));
  const startConnect = async (localTls: boolean) => {
    await connect?.stop();
    connectPort = await freePort();
    const { pki, cluster } = env;
    connect = await startPgtunnel([
      'connect',
      '--listen',
      `127.0.0.1:${connectPort}`,
      '--listen',
      `${connectDir}:${connectPort}`,
      ...(localTls ? ['--local-ssl-cert', pki.serverCert, '--local-ssl-key', pki.serverKey] : []),
      `host=127.0.0.1 port=${cluster.port} sslmode=disable`,
    ]);
  };
  const rows = readNegotiationTable();
  const endpoints = (context: TableContext) => {
    const { cluster, port, dir } = env;
    return context === 'unix'
      ? {
          postgres: join(cluster.socketDir, `.s.PGSQL.${cluster.port}`),
          gateway: join(dir, `.s.PGSQL.${port}`),
        }
      : { postgres: cluster.port, gateway: port };
  };

  before(async () => {
    env = await startGatewayEnv({
      // The longest timeout PostgreSQL allows: a reply that only a timeout would bring makes the
      // row wait past the file's time limit, so it fails rather than passing slowly.
      cluster: { flavor: 'embedded', settings: { authentication_timeout: '600s' } },
      serveArgs: ['--authentication-timeout', '600s'],
      configFile: ({ dir }) => {
        writeFileSync(join(dir, 'pg_hba.conf'), HBA);
        return `hba_file = 'pg_hba.conf'\nunix_socket_directories = '${dir}'\n`;
      },
    });
    const { serverCert, serverKey } = env.pki;
    await env.cluster.setSsl({ certFile: serverCert, keyFile: serverKey });
    await startConnect(true);
  });
  after(async () => {
    await connect?.stop();
    await env?.close();
    rmSync(connectDir, { recursive: true, force: true });
  });

  const check = async (row: TableRow) => {
    const { postgres, gateway } = endpoints(row.context);
    assert.deepEqual(await replay(gateway, row), onTheWire(row.replies), 'pgtunnel serve');
    const local =
      row.context === 'unix' ? join(connectDir, `.s.PGSQL.${connectPort}`) : connectPort;
    assert.deepEqual(await replay(local, row), onTheWire(row.replies), 'pgtunnel connect');
    const theirs = row.postgres ?? row;
    assert.deepEqual(await replay(postgres, theirs), onTheWire(theirs.replies), 'PostgreSQL 18');
  };

  for (const row of rows.filter((r) => r.context !== 'tcp')) {
    it(describeRow(row), () => check(row));
  }

  describe('with ssl off', () => {
    before(async () => {
      await env.cluster.setSsl(undefined);
      await env.restart(['--ssl', 'off']);
      await startConnect(false);
    });
    for (const row of rows.filter((r) => r.context === 'tcp')) {
      it(describeRow(row), () => check(row));
    }
  });
});
