// Runs the server side of TLS on a socket that has already passed the PostgreSQL
// negotiation (SSLRequest answered 'S', or a direct-TLS first byte). The socket is handed to a
// non-listening tls.Server: FINDINGS showed that a bare `new TLSSocket(…, { isServer })`
// skipped revocation checks that the server path performs.

import { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import { type TLSSocket, type TlsOptions, Server as TlsServer } from 'node:tls';
import { PgTunnelError } from '../errors.js';

interface Pending {
  resolve(socket: TLSSocket): void;
  reject(error: Error): void;
}

/** One generation of TLS settings; a reload builds a new acceptor, open sessions keep theirs. */
export class TlsAcceptor {
  private readonly server: TlsServer;
  private readonly pending = new WeakMap<object, Pending>();
  /** The certificates of ssl_ca_file, to name the real reason a client certificate failed. */
  readonly trustedCas: readonly X509Certificate[];

  constructor(options: TlsOptions) {
    this.server = new TlsServer(options);
    this.trustedCas = certificatesOf(options.ca);
    // node:tls keeps the wrapped raw socket as `_parent`; it links the TLS socket to our pending entry.
    this.server.on('secureConnection', (tlsSocket: TLSSocket) => {
      const entry = this.takePending(tlsSocket);
      entry?.resolve(tlsSocket);
    });
    this.server.on('tlsClientError', (error: Error, tlsSocket: TLSSocket) => {
      const entry = this.takePending(tlsSocket);
      tlsSocket.destroy();
      entry?.reject(
        new PgTunnelError('ERR_TLS_HANDSHAKE', `TLS handshake failed: ${error.message}`, {
          cause: error,
        }),
      );
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
      this.server.emit('connection', raw);
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

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function certificatesOf(ca: TlsOptions['ca']): X509Certificate[] {
  const sources = ca === undefined ? [] : Array.isArray(ca) ? ca : [ca];
  const found: X509Certificate[] = [];
  for (const source of sources) {
    for (const block of source.toString().match(CERTIFICATE_BLOCK) ?? []) {
      try {
        found.push(new X509Certificate(block));
      } catch {
        // An unreadable block was already refused when the context was built.
      }
    }
  }
  return found;
}
