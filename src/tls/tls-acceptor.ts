// Runs the server side of TLS on a socket that has already passed the PostgreSQL
// negotiation (SSLRequest answered 'S', or a direct-TLS first byte). The socket is handed to a
// non-listening tls.Server: FINDINGS showed that a bare `new TLSSocket(…, { isServer })`
// skipped revocation checks that the server path performs.
import type { Socket } from 'node:net';
import { type TLSSocket, type TlsOptions, Server as TlsServer } from 'node:tls';
import { PgTunnelError } from '../errors.js';
import { firstRecordLength, offeredTicketKeyName, TICKET_KEY_NAME_LENGTH } from './client-hello.js';

interface Pending {
  resolve(socket: TLSSocket): void;
  reject(error: Error): void;
}

/**
 * One generation of TLS settings; a reload builds a new acceptor, open sessions keep theirs.
 * node:tls decrypts session tickets with one key only; to keep resuming tickets issued under
 * the previous keys after a rotation, the acceptor holds a server per key and hands each
 * client to the one whose key name its ticket carries.
 */
export class TlsAcceptor {
  private readonly server: TlsServer;
  private readonly olderServers: Array<{ name: Buffer; server: TlsServer }>;
  private readonly pending = new WeakMap<object, Pending>();

  /** `olderTicketKeys`: keys whose tickets still resume (options.ticketKeys issues new ones). */
  constructor(options: TlsOptions, olderTicketKeys: readonly Buffer[] = []) {
    this.server = this.listen(new TlsServer(options));
    this.olderServers = olderTicketKeys.map((ticketKeys) => ({
      name: ticketKeys.subarray(0, TICKET_KEY_NAME_LENGTH),
      server: this.listen(new TlsServer({ ...options, ticketKeys })),
    }));
  }

  private listen(server: TlsServer): TlsServer {
    // node:tls keeps the wrapped raw socket as `_parent`; it links the TLS socket to our pending entry.
    server.on('secureConnection', (tlsSocket: TLSSocket) => {
      const entry = this.takePending(tlsSocket);
      entry?.resolve(tlsSocket);
    });
    server.on('tlsClientError', (error: Error, tlsSocket: TLSSocket) => {
      const entry = this.takePending(tlsSocket);
      tlsSocket.destroy();
      entry?.reject(
        new PgTunnelError('ERR_TLS_HANDSHAKE', `TLS handshake failed: ${error.message}`, {
          cause: error,
        }),
      );
    });
    return server;
  }

  /** The server for `raw`: the one whose key issued the ticket its ClientHello offers. */
  private serverFor(raw: Socket): Promise<TlsServer> {
    if (this.olderServers.length === 0) return Promise.resolve(this.server);
    return new Promise((resolve) => {
      let buffered = Buffer.alloc(0);
      const done = () => {
        raw.off('data', onData);
        raw.off('end', done);
        raw.pause();
        if (buffered.length > 0) raw.unshift(buffered);
        const name = offeredTicketKeyName(buffered);
        const older = name && this.olderServers.find((entry) => entry.name.equals(name));
        resolve(older ? older.server : this.server);
      };
      const onData = (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        const needed = firstRecordLength(buffered);
        if (needed === undefined || buffered.length >= needed) done();
      };
      raw.on('data', onData);
      raw.once('end', done);
      // The negotiation may have left the socket paused; the hello must be read.
      raw.resume();
    });
  }

  /** Completes the handshake on `raw`, or rejects after `timeoutMs` or on a TLS error. */
  accept(raw: Socket, timeoutMs: number): Promise<TLSSocket> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(raw);
        raw.destroy();
        reject(
          new PgTunnelError(
            'ERR_TLS_HANDSHAKE_TIMEOUT',
            `TLS handshake did not finish within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      const onClose = () => {
        clearTimeout(timer);
        if (this.pending.delete(raw)) {
          reject(
            new PgTunnelError(
              'ERR_TLS_HANDSHAKE',
              'the client closed the connection during the TLS handshake',
            ),
          );
        }
      };
      raw.once('close', onClose);
      this.pending.set(raw, {
        resolve: (socket) => {
          clearTimeout(timer);
          raw.off('close', onClose);
          resolve(socket);
        },
        reject: (error) => {
          clearTimeout(timer);
          raw.off('close', onClose);
          reject(error);
        },
      });
      this.serverFor(raw).then((server) => {
        if (!raw.destroyed) server.emit('connection', raw);
      });
    });
  }

  private takePending(tlsSocket: TLSSocket): Pending | undefined {
    const raw = (tlsSocket as TLSSocket & { _parent?: object })._parent;
    if (!raw) return undefined;
    const entry = this.pending.get(raw);
    this.pending.delete(raw);
    return entry;
  }
}
