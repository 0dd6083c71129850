// Runs one tunnel of `pgtunnel connect`: its listening sockets (addresses or inherited fds),
// one handler per accepted client (PostgreSQL-aware or raw), the set of live sessions, and a
// shutdown that either waits for sessions (smart) or cuts them (fast).
import { readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createSecureContext, type SecureContext } from 'node:tls';
import { ConfigError, describeError } from '../errors.js';
import type { TlsEnvironment } from '../libpq/upstream-tls.js';
import type { Logger } from '../log.js';
import { listenAll, removeSocketFile } from '../net/listen.js';
import { SessionSet } from '../net/session-set.js';
import { handleRawClientConnection } from '../raw/raw-connection.js';
import { SERVER_SECURE_OPTIONS } from '../tls/no-renegotiation.js';
import { handleLocalConnection, type LocalTunnelContext } from './local-connection.js';
import { describeTargets, type TunnelSpec } from './tunnel-spec.js';

export interface RunningTunnel {
  name: string;
  /** Where it listens, as shown in logs (real ports when 0 was asked for). */
  addresses: string[];
  /** Sessions currently open (accepted clients not yet closed). */
  activeConnections(): number;
  /** Stops listening; `smart` waits for sessions to end, `fast` closes them now. */
  close(mode: 'smart' | 'fast'): Promise<void>;
}

export interface TunnelRunOptions {
  /** Inherited listening sockets to use (socket activation). */
  fds?: number[];
  tlsEnvironment?: TlsEnvironment;
  /** Time a client has to send its startup packet; default 60 s. */
  startupTimeoutMs?: number;
}

/** Loads the certificate and key a tunnel serves to local clients that ask for TLS. */
export function loadLocalTls(spec: TunnelSpec): SecureContext | undefined {
  if (!spec.localTls) return undefined;
  try {
    return createSecureContext({
      cert: readFileSync(spec.localTls.certFile),
      key: readFileSync(spec.localTls.keyFile),
      secureOptions: SERVER_SECURE_OPTIONS,
    });
  } catch (error) {
    throw new ConfigError(
      'ERR_TLS_CREDENTIALS',
      `tunnel "${spec.name}": could not load local_sslcert "${spec.localTls.certFile}" / local_sslkey "${spec.localTls.keyFile}": ${describeError(error)}`,
      { cause: error, location: spec.localTls.location },
    );
  }
}

/** The per-connection handler of a tunnel, shared by listeners and inetd mode. */
function connectionHandler(spec: TunnelSpec, logger: Logger, options: TunnelRunOptions) {
  const localTls = loadLocalTls(spec);
  const context: LocalTunnelContext = {
    name: spec.name,
    targets: spec.targets,
    localTls,
    logger,
    idleTimeoutMs: spec.idleTimeoutMs,
    ...(options.tlsEnvironment ? { tlsEnvironment: options.tlsEnvironment } : {}),
    ...(options.startupTimeoutMs ? { startupTimeoutMs: options.startupTimeoutMs } : {}),
  };
  let nextId = 0;
  return (client: Duplex, peer: string, track: (upstream: Duplex) => void) => {
    const id = ++nextId;
    return spec.raw
      ? handleRawClientConnection(client, context, id, peer, track)
      : handleLocalConnection(client, context, id, peer, track);
  };
}

function peerOf(socket: Socket): string {
  if (socket.remoteAddress) return `${socket.remoteAddress}:${socket.remotePort}`;
  return '[local]';
}

/**
 * Starts a tunnel: loads its files, binds every address (or inherited fd), then accepts.
 * Rejects with ConfigError/PgTunnelError (ERR_LISTEN) before accepting anything.
 */
export async function startTunnel(
  spec: TunnelSpec,
  logger: Logger,
  options: TunnelRunOptions = {},
): Promise<RunningTunnel> {
  const log = logger.child({ tunnel: spec.name });
  const handle = connectionHandler(spec, logger, options);
  const sessions = new SessionSet();

  const onConnection = (socket: Socket) => {
    sessions.run(
      socket,
      (attach) => handle(socket, peerOf(socket), attach),
      (error) => log.error({ err: describeError(error) }, 'connection handler failed'),
    );
  };
  const newServer = () => {
    // allowHalfOpen: a client's FIN is passed upstream instead of closing its socket early
    const server = createServer({ allowHalfOpen: true, noDelay: true }, onConnection);
    server.on('error', (error) => log.error({ err: describeError(error) }, 'listener error'));
    return server;
  };

  const servers = await listenAll(newServer, spec.listen, options.fds ?? [], {
    unixSocketMode: spec.unixSocketMode,
  });
  const addresses = servers.map((bound) => bound.description);
  for (const warning of spec.warnings) log.warn({}, warning);
  log.info(
    { addresses, upstream: describeTargets(spec.targets), raw: spec.raw },
    'tunnel listening',
  );

  let closing: Promise<void> | undefined;
  return {
    name: spec.name,
    addresses,
    activeConnections: () => sessions.size,
    close(mode) {
      if (mode === 'fast') void sessions.closeAll();
      closing ??= (async () => {
        await Promise.all(
          servers.map(
            ({ server }) => new Promise<void>((resolve) => server.close(() => resolve())),
          ),
        );
        for (const { address } of servers) if (address) removeSocketFile(address);
      })();
      return closing.then(async () => {
        await sessions.drain();
      });
    },
  };
}

/**
 * inetd mode: serves the single connection on `stream` (stdin/stdout) and resolves when it
 * has ended, including the last bytes written to the client (a FATAL explaining an upstream
 * failure), so the caller may exit the process at once.
 */
export async function serveInetdConnection(
  spec: TunnelSpec,
  stream: Duplex,
  logger: Logger,
  options: TunnelRunOptions = {},
): Promise<void> {
  const handle = connectionHandler(spec, logger, options);
  const peer =
    'remoteAddress' in stream && (stream as Socket).remoteAddress
      ? peerOf(stream as Socket)
      : '[stdio]';
  await handle(stream, peer, () => {});
  // A refusal is written with end() and the handler returns before it is flushed; the
  // handler destroys the stream if the client does not take it within a few seconds.
  await finished(stream, { readable: false }).catch(() => {});
}
