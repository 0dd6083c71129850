// One `-L` forward: a local listener whose connections each get a direct-tcpip channel to the
// target. PostgreSQL-aware: when no channel can be had, the client gets a FATAL ErrorResponse
// (SQLSTATE 08001) that psql prints, instead of a bare connection reset (client-refusal.ts).
import { createServer, type Server, type Socket } from 'node:net';
import { PgTunnelError } from '../errors.js';
import type { Logger } from '../log.js';
import { pump } from '../net/pump.js';
import { SessionSet } from '../net/session-set.js';
import { refuseClient } from './client-refusal.js';
import type { ForwardSpec } from './forward-spec.js';
import type { SshSession } from './ssh-session.js';

export interface LocalForwardOptions {
  spec: ForwardSpec;
  session: SshSession;
  /** How long a new local connection waits for a lost SSH connection to come back. */
  connectWaitMs: number;
  log: Logger;
}

export class LocalForward {
  private server: Server | undefined;
  private readonly sessions = new SessionSet();
  private nextId = 1;

  constructor(private readonly options: LocalForwardOptions) {}

  /** Binds the listener; resolves to the bound address (the real port when 0 was asked). */
  listen(): Promise<{ address: string; port: number }> {
    const { spec } = this.options;
    // Half-open kept so a client's EOF reaches the server while replies still flow back.
    const server = createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, spec)));
      server.listen({ host: spec.bindAddress, port: spec.bindPort }, () => {
        const bound = server.address();
        if (!bound || typeof bound === 'string') {
          reject(new PgTunnelError('ERR_LISTEN', `cannot read the address of ${spec.text}`));
          return;
        }
        server.on('error', (error) =>
          this.options.log.error({ error: error.message }, 'listener error'),
        );
        resolve({ address: bound.address, port: bound.port });
      });
    });
  }

  /** Stops listening and closes every forwarded connection. */
  close(): Promise<void> {
    this.sessions.closeAll();
    const server = this.server;
    if (!server?.listening) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    const { spec, session, log } = this.options;
    const id = this.nextId++;
    const client = `${socket.remoteAddress}:${socket.remotePort}`;
    const connLog = log.child({ conn: id, client });
    socket.on('error', (error) => connLog.debug({ error: error.message }, 'local socket error'));
    socket.setNoDelay(true);
    // Until the channel is open the socket is not read from: whatever the client sends
    // (SSLRequest, StartupMessage) stays buffered and is forwarded once the channel exists.
    this.sessions.run(
      socket,
      async (attach) => {
        let channel: Awaited<ReturnType<SshSession['openChannel']>>;
        try {
          channel = await session.openChannel(
            spec.host,
            spec.hostPort,
            this.options.connectWaitMs,
            {
              address: socket.remoteAddress ?? '127.0.0.1',
              port: socket.remotePort ?? 0,
            },
          );
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          connLog.warn(
            { target: `${spec.host}:${spec.hostPort}` },
            `connection refused: ${message}`,
          );
          await refuseClient(socket, message);
          return;
        }
        if (socket.destroyed) {
          channel.destroy();
          return;
        }
        attach(channel);
        connLog.debug({ target: `${spec.host}:${spec.hostPort}` }, 'forwarding');
        const result = await pump(socket, channel);
        connLog.debug(
          { sent: result.bytesAtoB, received: result.bytesBtoA, outcome: result.outcome },
          'connection closed',
        );
      },
      (error) => connLog.warn({ err: String(error) }, 'forward failed'),
    );
  }
}

function listenError(error: NodeJS.ErrnoException, spec: ForwardSpec): PgTunnelError {
  const where = `${spec.bindAddress ?? '*'}:${spec.bindPort}`;
  const why =
    error.code === 'EADDRINUSE'
      ? 'the address is already in use (another PostgreSQL or tunnel?); pick another local port'
      : error.code === 'EACCES'
        ? 'permission denied; ports below 1024 need root, so pick a port of 1024 or more'
        : error.code === 'EADDRNOTAVAIL'
          ? 'that address does not belong to this machine'
          : error.message;
  return new PgTunnelError('ERR_LISTEN', `cannot listen on ${where} for -L ${spec.text}: ${why}`, {
    cause: error,
  });
}
