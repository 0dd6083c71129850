// One `-L` forward: a local listener whose connections each get a direct-tcpip channel to the
// target. PostgreSQL-aware: when no channel can be had, the client gets a FATAL ErrorResponse
// (SQLSTATE 08001) that psql prints, instead of a bare connection reset (client-refusal.ts).
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import type { PgTunnelError } from '../errors.js';
import type { Logger } from '../log.js';
import { listenOn } from '../net/listen.js';
import { pump } from '../net/pump.js';
import { SessionSet } from '../net/session-set.js';
import { type AddressFamily, type ForwardSpec, listenAddresses } from './forward-spec.js';
import type { SshSession } from './ssh-session.js';

export interface LocalForwardOptions {
  spec: ForwardSpec;
  session: SshSession;
  /** How long a new local connection waits for a lost SSH connection to come back. */
  connectWaitMs: number;
  /** `-4`/`-6`: which loopback addresses `localhost` means. Default both. */
  addressFamily?: AddressFamily;
  log: Logger;
}

/** Where a forward listens: the first address, and any others on the same port. */
export interface ListeningOn {
  address: string;
  port: number;
  /** Further addresses (::1 beside 127.0.0.1 for `localhost`). */
  alsoOn: string[];
}

/** errno codes for an address family this machine does not have (no IPv6 loopback). */
const FAMILY_MISSING = new Set(['EADDRNOTAVAIL', 'EAFNOSUPPORT', 'EINVAL']);

export class LocalForward {
  private readonly servers: Server[] = [];
  private readonly sessions = new SessionSet();
  private nextId = 1;

  constructor(private readonly options: LocalForwardOptions) {}

  /**
   * Binds the listeners; resolves to the bound addresses (the real port when 0 was asked).
   * `localhost` is bound as 127.0.0.1 and ::1, as ssh does; the second only where it can be.
   */
  async listen(): Promise<ListeningOn> {
    const { spec, log } = this.options;
    const [first, ...others] = listenAddresses(
      spec.bindAddress,
      this.options.addressFamily ?? 'any',
    );
    const bound = await this.bind(first, spec.bindPort);
    const alsoOn: string[] = [];
    for (const address of others) {
      try {
        alsoOn.push((await this.bind(address, bound.port)).address);
      } catch (error) {
        const cause = (error as PgTunnelError).cause as NodeJS.ErrnoException | undefined;
        if (cause?.code && FAMILY_MISSING.has(cause.code)) {
          log.debug({ address }, `not listening on ${address}: ${cause.message}`);
        } else {
          // As ssh: one address is enough; say why the other is missing.
          log.warn({ address }, (error as Error).message);
        }
      }
    }
    return { address: bound.address, port: bound.port, alsoOn };
  }

  private async bind(
    host: string | undefined,
    port: number,
  ): Promise<{ address: string; port: number }> {
    const { spec, log } = this.options;
    // Half-open kept so a client's EOF reaches the server while replies still flow back.
    const server = createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
    // No bind address (`*`) is every address of both families, as ssh binds it.
    await listenOn(
      server,
      { kind: 'tcp', host: host ?? '', port },
      { purpose: `for -L ${spec.text}` },
    );
    this.servers.push(server);
    server.on('error', (error) => log.error({ error: error.message }, 'listener error'));
    const address = server.address() as AddressInfo;
    return { address: address.address, port: address.port };
  }

  /** Stops listening and closes every forwarded connection. */
  close(): Promise<void> {
    void this.sessions.closeAll();
    return Promise.all(
      this.servers
        .filter((server) => server.listening)
        .map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    ).then(() => undefined);
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
          // Loaded on the first refusal: a tunnel that never refuses never pays for the codecs.
          const { refuseClient } = await import('./client-refusal.js');
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
