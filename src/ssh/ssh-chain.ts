// One live SSH connection through zero or more jump hosts: each hop is an ssh2 Client whose
// socket is a direct-tcpip channel of the hop before it. Ends as a whole when any hop ends.
import { EventEmitter } from 'node:events';
import { isIPv4, isIPv6 } from 'node:net';
import { type ClientChannel, Client as SshClient } from 'ssh2';
import { PgTunnelError } from '../errors.js';
import type { Logger } from '../log.js';
import { createAuthHandler } from './auth.js';
import { HostKeyVerifier } from './host-key-verifier.js';
import { channelRefused, type HopContext, hopName, translateSshError } from './ssh-errors.js';
import type { HopPlan, TunnelPlan } from './tunnel-plan.js';

type Ssh2Error = Error & { level?: string };

/** Events: `close` (reason: PgTunnelError) once, when the connection is gone. */
export class SshChain extends EventEmitter {
  private closed = false;
  private readonly channels = new Set<ClientChannel>();
  private lastError: PgTunnelError | undefined;

  private constructor(
    private readonly clients: SshClient[],
    private readonly plan: TunnelPlan,
    private readonly log: Logger,
  ) {
    super();
    clients.forEach((client, index) => {
      const context = hopContext(plan, index);
      client.on('error', (error: Ssh2Error) => {
        this.lastError = translateSshError(error, context);
      });
      // A hop carried inside another hop's channel may report only `end` (the channel's EOF)
      // and never `close`, and ssh2 stops its keep-alives on `end`: either one means it is gone.
      const lost = () => this.shutdown(this.lastError ?? lostError(context));
      client.on('end', lost);
      client.on('close', lost);
    });
  }

  /** Connects every hop in order; rejects with a translated error naming the failing hop. */
  static async connect(
    plan: TunnelPlan,
    home: string,
    log: Logger,
    protocolTrace = false,
  ): Promise<SshChain> {
    const clients: SshClient[] = [];
    try {
      for (let index = 0; index < plan.hops.length; index++) {
        const previous = clients[index - 1];
        const hop = plan.hops[index] as HopPlan;
        if (!previous) checkAddressFamily(hop, plan.addressFamily);
        const sock = previous
          ? await openChannel(
              previous,
              plan.hops[index - 1] as HopPlan,
              hop.host,
              hop.port,
              plan.connectTimeoutMs,
            )
          : undefined;
        const connected = await connectHop(plan, index, sock, home, log, protocolTrace);
        clients.push(connected.client);
        if (connected.forwardingRefused) throw connected.forwardingRefused;
        log.debug({ hop: hopName(hop) }, 'SSH hop connected');
      }
    } catch (error) {
      for (const client of clients.reverse()) client.end();
      throw error;
    }
    return new SshChain(clients, plan, log);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** A direct-tcpip channel from the last hop to host:port. */
  async openChannel(
    host: string,
    port: number,
    origin?: { address: string; port: number },
  ): Promise<ClientChannel> {
    const last = this.clients.at(-1);
    if (this.closed || !last) throw new PgTunnelError('ERR_SSH', 'the SSH connection is closed');
    const channel = await openChannel(
      last,
      this.plan.hops.at(-1) as HopPlan,
      host,
      port,
      this.plan.connectTimeoutMs,
      origin,
    );
    this.channels.add(channel);
    channel.once('close', () => this.channels.delete(channel));
    return channel;
  }

  /** Ends the connection (and every open channel). */
  close(): void {
    this.shutdown(new PgTunnelError('ERR_SSH', 'the SSH connection was closed by pgtunnel'));
  }

  private shutdown(reason: PgTunnelError): void {
    if (this.closed) return;
    this.closed = true;
    for (const channel of this.channels) channel.destroy();
    this.channels.clear();
    for (const client of [...this.clients].reverse()) client.end();
    this.log.debug({ reason: reason.message }, 'SSH connection closed');
    this.emit('close', reason);
  }
}

function hopContext(plan: TunnelPlan, index: number): HopContext {
  return {
    hop: plan.hops[index] as HopPlan,
    via: plan.hops[index - 1],
    connectTimeoutMs: plan.connectTimeoutMs,
    keepalive: { intervalMs: plan.keepaliveIntervalMs, countMax: plan.keepaliveCountMax },
  };
}

function lostError(context: HopContext): PgTunnelError {
  const via = context.via ? ` (through ${hopName(context.via)})` : '';
  return new PgTunnelError('ERR_SSH', `the SSH connection to ${hopName(context.hop)}${via} ended`);
}

function connectHop(
  plan: TunnelPlan,
  index: number,
  sock: ClientChannel | undefined,
  home: string,
  log: Logger,
  protocolTrace: boolean,
): Promise<{ client: SshClient; forwardingRefused: PgTunnelError | undefined }> {
  const hop = plan.hops[index] as HopPlan;
  const context = hopContext(plan, index);
  const verifier = new HostKeyVerifier(hop.hostKeyName, hop.hostKeys, log, {
    host: hop.host,
    port: hop.port,
    via: context.via,
  });
  const auth = createAuthHandler(hop, home);
  context.report = auth.report;
  const client = new SshClient();
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      context.hostKeyFailure = verifier.failure;
      client.removeAllListeners('ready');
      client.end();
      reject(translateSshError(error, context));
    };
    client.once('ready', () => {
      if (settled) return;
      settled = true;
      // As ssh -v says which key got in ("Authenticated to … using publickey").
      log.info(
        { hop: hopName(hop) },
        `authenticated to ${hopName(hop)} as ${hop.user} using publickey with ${auth.report.current ?? 'no key'}`,
      );
      // onError/onClose stay attached as no-ops: an error between this hop's ready and the
      // chain taking over must not become an unhandled 'error' event.
      resolve({ client, forwardingRefused: verifier.forwardingRefused });
    });
    const onError = (error: Ssh2Error) => {
      // ssh2 reports an unusable agent or key, then goes on with the next method.
      const recoverable =
        error.level === 'agent' ||
        (error.level === 'client-authentication' &&
          error.message !== 'All configured authentication methods failed');
      if (recoverable) {
        auth.report.notes.push(error.message);
        return;
      }
      fail(error);
    };
    const onClose = () => fail(new Error('Connection lost before handshake'));
    client.on('error', onError);
    client.on('close', onClose);
    try {
      client.connect({
        host: hop.host,
        port: hop.port,
        sock,
        username: hop.user,
        authHandler: auth.handler,
        hostVerifier: (key: Buffer) => verifier.verify(key),
        algorithms: {
          serverHostKey: verifier.algorithms as never,
          // ssh -C: zlib preferred, and "none" kept for servers that refuse compression.
          compress: (plan.compression
            ? ['zlib@openssh.com', 'zlib', 'none']
            : ['none', 'zlib@openssh.com', 'zlib']) as never,
        },
        debug: protocolTrace
          ? (message: string) => log.debug({ hop: hopName(hop) }, message)
          : undefined,
        forceIPv4: plan.addressFamily === 'inet',
        forceIPv6: plan.addressFamily === 'inet6',
        readyTimeout: plan.connectTimeoutMs,
        keepaliveInterval: plan.keepaliveIntervalMs,
        keepaliveCountMax: plan.keepaliveCountMax,
      });
    } catch (error) {
      fail(error);
    }
  });
}

/** Opens a direct-tcpip channel with a deadline (ssh2 has none for channel opens). */
function openChannel(
  client: SshClient,
  server: HopPlan,
  host: string,
  port: number,
  timeoutMs: number,
  origin = { address: '127.0.0.1', port: 0 },
): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      reject(
        channelRefused(new Error(`no answer within ${timeoutMs / 1000} s`), server, host, port),
      );
    }, timeoutMs);
    try {
      client.forwardOut(origin.address, origin.port, host, port, (error, channel) => {
        clearTimeout(timer);
        if (done) {
          channel?.destroy();
          return;
        }
        done = true;
        if (error) reject(channelRefused(error, server, host, port));
        else resolve(channel);
      });
    } catch (error) {
      clearTimeout(timer);
      done = true;
      reject(channelRefused(error, server, host, port));
    }
  });
}

/** -4/-6 against an address literal, which ssh2 would connect to regardless (ssh refuses). */
function checkAddressFamily(hop: HopPlan, family: TunnelPlan['addressFamily']): void {
  const mismatch =
    (family === 'inet' &&
      isIPv6(hop.host) &&
      'an IPv6 address, but -4 (AddressFamily inet) allows IPv4 only') ||
    (family === 'inet6' &&
      isIPv4(hop.host) &&
      'an IPv4 address, but -6 (AddressFamily inet6) allows IPv6 only');
  if (mismatch) {
    throw new PgTunnelError(
      'ERR_SSH',
      `cannot connect to the SSH server ${hopName(hop)}: ${hop.host} is ${mismatch}`,
    );
  }
}
