// `pgtunnel serve --raw`: stunnel's server mode, not PostgreSQL-aware. Accepts TLS (optionally
// requiring a client certificate from a CA, with CRLs) and forwards the plaintext bytes to a
// TCP address or unix socket. Also serves a single connection on stdin/stdout (inetd mode).
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer, type SecureVersion, type TLSSocket, type TlsOptions } from 'node:tls';
import { describeError } from '../errors.js';
import { parseConnString } from '../libpq/conninfo.js';
import type { Logger } from '../log.js';
import { formatSocketAddress, parseSocketAddress, type SocketAddress } from '../net/address.js';
import { dial } from '../net/dial.js';
import { listenAll, removeSocketFile } from '../net/listen.js';
import { pump } from '../net/pump.js';
import { SessionSet } from '../net/session-set.js';
import { loadPrivateKey } from '../tls/key-file.js';
import { SERVER_SECURE_OPTIONS } from '../tls/no-renegotiation.js';
import { loadCrls, readPemFile } from '../tls/pem-files.js';

/** Settings of a raw TLS server. */
export interface RawServeOptions {
  /** Name for logs; default "raw". */
  name?: string;
  /** Where to accept TLS connections. */
  listen: SocketAddress[];
  /** Inherited listening sockets (systemd socket activation), used as well as `listen`. */
  fds?: number[];
  /** Where the decrypted bytes go: `host:port`, or a unix socket (PostgreSQL's .s.PGSQL.N). */
  target: SocketAddress;
  /** Server certificate (chain) and key files. */
  certFile: string;
  keyFile: string;
  /** Command printing the key's passphrase, as ssl_passphrase_command; default none. */
  passphraseCommand?: string;
  /** When set, clients must present a certificate issued by these CAs (stunnel verifyChain). */
  caFile?: string;
  /** CRLs checked for client certificates (all CA levels, as OpenSSL checks every one). */
  crlFile?: string;
  crlDir?: string;
  minVersion?: SecureVersion;
  maxVersion?: SecureVersion;
  /** Give up on a TLS handshake after this long; default 30 s. */
  handshakeTimeoutMs?: number;
  idleTimeoutMs?: number;
  unixSocketMode?: number;
  logger: Logger;
}

export interface RawServer {
  /** Where it listens, as shown in logs. */
  addresses: string[];
  activeConnections(): number;
  /** Stops accepting; `smart` waits for sessions, `fast` closes them. */
  close(mode: 'smart' | 'fast'): Promise<void>;
}

/** Loads and checks every file, so a bad certificate fails the start, not each handshake. */
export function rawServerTlsOptions(options: RawServeOptions): TlsOptions {
  const key = loadPrivateKey(options.keyFile, options.passphraseCommand ?? '', {
    isReload: false,
    commandSupportsReload: false,
  });
  const cert = readPemFile(options.certFile, 'server certificate file');
  const ca = options.caFile ? readPemFile(options.caFile, 'root certificate file') : undefined;
  const crl = loadCrls(options.crlFile ?? '', options.crlDir ?? '');
  return {
    cert,
    key: key.pem,
    ...(key.passphrase === undefined ? {} : { passphrase: key.passphrase }),
    ...(ca ? { ca, requestCert: true, rejectUnauthorized: true } : {}),
    ...(crl.length > 0 ? { crl } : {}),
    minVersion: options.minVersion ?? 'TLSv1.2',
    ...(options.maxVersion ? { maxVersion: options.maxVersion } : {}),
    handshakeTimeout: options.handshakeTimeoutMs ?? 30_000,
    // Until the handshake is done, a client's FIN ends the connection (else a balancer's health
    // check would be held for the whole handshake timeout); relay() allows half-close after it.
    allowHalfOpen: false,
    secureOptions: SERVER_SECURE_OPTIONS,
    // as stunnel (TCP_NODELAY on both sides): a relay must not hold back a short message
    noDelay: true,
  };
}

/** A client that just left is not a TLS failure worth an error's details. */
function logHandshakeFailure(log: Logger, error: Error): void {
  if ((error as NodeJS.ErrnoException).code === 'ECONNRESET') {
    log.info({}, 'the client closed the connection before completing the TLS handshake');
  } else {
    log.info({ err: describeError(error) }, 'TLS handshake failed');
  }
}

function peerOf(socket: Socket): string {
  return socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : '[local]';
}

function relay(options: RawServeOptions, log: Logger) {
  let nextId = 0;
  return async (tlsSocket: TLSSocket, peer: string, track: (s: Duplex) => void) => {
    const connLog = log.child({ conn: ++nextId, client: peer });
    // A half-close from either side is relayed as such, as stunnel does.
    tlsSocket.allowHalfOpen = true;
    tlsSocket.on('error', (error) => connLog.debug({ err: describeError(error) }, 'client error'));
    tlsSocket.pause();
    let upstream: Socket;
    try {
      // The target's bytes go to the TLS client: read them without a buffer per read.
      upstream = await dial(options.target, { sharedReadBuffer: true });
    } catch (error) {
      connLog.warn(
        { target: formatSocketAddress(options.target), err: describeError(error) },
        'could not connect to the target',
      );
      tlsSocket.destroy();
      return;
    }
    track(upstream);
    const cert = options.caFile ? tlsSocket.getPeerCertificate() : undefined;
    connLog.info(
      {
        target: formatSocketAddress(options.target),
        protocol: tlsSocket.getProtocol(),
        ...(cert?.subject ? { clientCertificate: cert.subject.CN } : {}),
      },
      'session started',
    );
    const started = Date.now();
    const result = await pump(tlsSocket, upstream, {
      ...(options.idleTimeoutMs ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
    });
    connLog.info(
      {
        durationMs: Date.now() - started,
        bytesFromClient: result.bytesAtoB,
        bytesToClient: result.bytesBtoA,
        outcome: result.outcome,
        ...(result.error ? { err: describeError(result.error) } : {}),
      },
      'session ended',
    );
  };
}

/**
 * Starts the raw TLS server: loads certificates, binds every address, then accepts.
 *
 * @example
 * const server = await startRawServer({
 *   listen: [parseSocketAddress('0.0.0.0:5433')],
 *   target: parseSocketAddress('/var/run/postgresql:5432'),
 *   certFile: 'server.crt', keyFile: 'server.key', logger,
 * });
 */
export async function startRawServer(options: RawServeOptions): Promise<RawServer> {
  const log = options.logger.child({ tunnel: options.name ?? 'raw' });
  const handle = relay(options, log);
  const tlsOptions = rawServerTlsOptions(options);
  const sessions = new SessionSet();

  const newServer = () => {
    // Each client's address is read once, from the accepted socket as it arrives: a TLS socket
    // whose client left has lost it by the time a handshake error is reported. node:tls keeps
    // the accepted socket as the TLS socket's `_parent`.
    const clients = new WeakMap<Socket, string>();
    const clientOf = (tlsSocket: TLSSocket) => {
      const accepted = (tlsSocket as unknown as { _parent?: Socket })._parent;
      return (accepted && clients.get(accepted)) ?? peerOf(tlsSocket);
    };
    const server = createServer(tlsOptions, (tlsSocket) => {
      sessions.run(
        tlsSocket,
        (attach) => handle(tlsSocket, clientOf(tlsSocket), attach),
        (error) => log.error({ err: describeError(error) }, 'connection handler failed'),
      );
    });
    server.on('connection', (accepted: Socket) => clients.set(accepted, peerOf(accepted)));
    server.on('tlsClientError', (error, tlsSocket) => {
      logHandshakeFailure(log.child({ client: clientOf(tlsSocket) }), error);
    });
    server.on('error', (error) => log.error({ err: describeError(error) }, 'listener error'));
    return server;
  };

  const servers = await listenAll(newServer, options.listen, options.fds ?? [], {
    unixSocketMode: options.unixSocketMode,
  });
  const addresses = servers.map((bound) => bound.description);
  log.info({ addresses, target: formatSocketAddress(options.target) }, 'raw TLS server listening');

  let closing: Promise<void> | undefined;
  return {
    addresses,
    activeConnections: () => sessions.size,
    close(mode) {
      if (mode === 'fast') void sessions.closeAll();
      closing ??= Promise.all(
        servers.map((s) => new Promise<void>((resolve) => s.server.close(() => resolve()))),
      ).then(() => {
        for (const s of servers) if (s.address) removeSocketFile(s.address);
      });
      return closing.then(async () => {
        await sessions.drain();
      });
    },
  };
}

/**
 * inetd mode for `serve --raw`: TLS on the one connection given (stdin/stdout), forwarded to
 * the target; resolves when it has ended.
 */
export async function serveRawInetd(options: RawServeOptions, stream: Duplex): Promise<void> {
  const log = options.logger.child({ tunnel: options.name ?? 'raw' });
  const handle = relay(options, log);
  const server = createServer(rawServerTlsOptions(options));
  await new Promise<void>((resolve) => {
    let settled = false;
    server.once('secureConnection', (tlsSocket: TLSSocket) => {
      settled = true;
      handle(tlsSocket, '[stdio]', () => {}).finally(resolve);
    });
    server.once('tlsClientError', (error) => {
      settled = true;
      logHandshakeFailure(log, error);
      stream.destroy();
      resolve();
    });
    // A client that leaves before its handshake sends no alert, so no tlsClientError comes
    // until the handshake timeout (a balancer's or stunnel's probe does exactly this): its end
    // is taken as the end. When the end reached the TLS layer first, nothing is left to wait
    // for and the event loop empties: that is the end too.
    const onLeft = () => {
      if (settled) return;
      settled = true;
      log.info({}, 'the client closed the connection before completing the TLS handshake');
      stream.destroy();
      resolve();
    };
    stream.once('end', onLeft);
    stream.once('close', onLeft);
    process.once('beforeExit', onLeft);
    // A tls.Server takes any duplex stream as a connection.
    server.emit('connection', stream);
  });
  // the server never listened; nothing to close but its handle bookkeeping
  server.close(() => {});
}

/**
 * The plaintext destination of a raw server, written as `host:port`, a socket directory
 * (`/var/run/postgresql:5432`), `unix:/path`, or a libpq connection string (host and port).
 */
export function parseRawTarget(text: string): SocketAddress {
  const trimmed = text.trim();
  if (!trimmed.includes('=') && !trimmed.startsWith('postgres')) {
    return parseSocketAddress(trimmed, { defaultHost: 'localhost' });
  }
  const info = parseConnString(trimmed);
  const host = info.host ?? info.hostaddr ?? 'localhost';
  const port = info.port ?? '5432';
  return parseSocketAddress(
    host.startsWith('/') ? `${host}:${port}` : `${host.includes(':') ? `[${host}]` : host}:${port}`,
  );
}
