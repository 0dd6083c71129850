// The byte pump between two connected streams: copies both ways with backpressure, passes a
// half-close (end) from one side to the other, and on an error, an abrupt close or an idle
// timeout destroys both, so no socket outlives its partner (cf. ghostunnel proxy.go fuse).
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { takeOverReads } from './shared-read-buffer.js';

/** The most a direction holds back to write it with one writev(2). */
const MAX_CORKED_BYTES = 256 * 1024;
/** Chunks this large are bulk data (a full TLS record is 8-16 kB): worth coalescing. */
const BULK_CHUNK_BYTES = 4096;

export interface PumpOptions {
  /** Destroy both sides after this long with no bytes in either direction; default none. */
  idleTimeoutMs?: number;
  /**
   * After both directions have ended and one side has closed, how long the other side may
   * take to flush and close before it is destroyed; default 30 s.
   */
  lingerMs?: number;
  /** Sees every chunk copied from the second stream to the first, before it is written. */
  observeBtoA?: (chunk: Buffer) => void;
}

export interface PumpResult {
  /** Bytes copied from the first stream to the second. */
  bytesAtoB: number;
  /** Bytes copied from the second stream to the first. */
  bytesBtoA: number;
  /** How it ended: both sides finished, one failed or closed abruptly, or nothing moved. */
  outcome: 'closed' | 'error' | 'idle-timeout';
  /** The first error either side raised, if any. */
  error: Error | undefined;
}

/**
 * Copies bytes between `a` and `b` until both are closed; resolves (never rejects) once both
 * have emitted 'close'. For half-close to be preserved both should be sockets created with
 * `allowHalfOpen: true`; otherwise Node ends a socket's writable side when its readable side
 * ends, and data still flowing towards it is dropped.
 *
 * @example
 * const result = await pump(clientSocket, serverSocket, { idleTimeoutMs: 3_600_000 });
 */
export function pump(a: Duplex, b: Duplex, options: PumpOptions = {}): Promise<PumpResult> {
  const lingerMs = options.lingerMs ?? 30_000;
  return new Promise((resolve) => {
    const result: PumpResult = { bytesAtoB: 0, bytesBtoA: 0, outcome: 'closed', error: undefined };
    const state = new Map<Duplex, { readEnded: boolean; closed: boolean }>([
      [a, { readEnded: false, closed: false }],
      [b, { readEnded: false, closed: false }],
    ]);
    let idleTimer: NodeJS.Timeout | undefined;
    let lingerTimer: NodeJS.Timeout | undefined;

    const destroyBoth = () => {
      if (!a.destroyed) a.destroy();
      if (!b.destroyed) b.destroy();
    };
    const touch = () => {
      if (!options.idleTimeoutMs) return;
      idleTimer?.refresh();
    };
    if (options.idleTimeoutMs) {
      idleTimer = setTimeout(() => {
        if (result.outcome === 'closed') result.outcome = 'idle-timeout';
        destroyBoth();
      }, options.idleTimeoutMs);
    }

    const forward = (
      from: Duplex,
      to: Duplex,
      count: (n: number) => void,
      observe?: (chunk: Buffer) => void,
    ) => {
      // A TLS socket hands over one record (8-16 kB) per 'data' event, several per read from
      // the network. Written one by one, each is a write(2); corked until the event loop has
      // delivered all of this turn's chunks, they leave as one writev(2).
      let pending: NodeJS.Immediate | undefined;
      const flush = () => {
        clearImmediate(pending);
        pending = undefined;
        if (to.destroyed) return;
        to.uncork();
        if (to.writableNeedDrain) from.pause();
      };
      const deliver = (chunk: Buffer, shared: boolean) => {
        count(chunk.length);
        touch();
        observe?.(chunk);
        // The far side may already be ending (a non-half-open socket ends itself): drop
        // rather than raise write-after-end.
        if (to.writableEnded || to.destroyed) return;
        if (shared) {
          // A view of the shared read buffer (shared-read-buffer.ts), overwritten by the next
          // read: an idle TLS socket encrypts it before write() returns, anything else would
          // keep a reference, so gets a copy.
          if (!pending && encryptsAtOnce(to)) {
            to.write(chunk);
            if (to.writableNeedDrain) from.pause();
            return;
          }
          chunk = Buffer.from(chunk);
        }
        if (!pending) {
          // A small chunk (a query, a row) goes at once: nothing to gain, and no delay added.
          if (chunk.length < BULK_CHUNK_BYTES) {
            if (!to.write(chunk)) from.pause();
            return;
          }
          to.cork();
          pending = setImmediate(flush);
        }
        to.write(chunk);
        // libuv reads a socket up to 32 times per wake-up: bound what one session holds.
        if (to.writableLength >= MAX_CORKED_BYTES) flush();
      };
      from.once('end', () => {
        const fromState = state.get(from);
        if (fromState) fromState.readEnded = true;
        if (!to.writableEnded && !to.destroyed) to.end();
      });
      if (!takeOverReads(from as Socket, (chunk) => deliver(chunk, true))) {
        from.on('data', (chunk: Buffer) => deliver(chunk, false));
      }
      to.on('drain', () => from.resume());
      from.resume();
    };

    const onError = (error: Error) => {
      result.error ??= error;
      result.outcome = 'error';
      destroyBoth();
    };

    const onClose = (stream: Duplex, other: Duplex) => {
      const own = state.get(stream);
      const theirs = state.get(other);
      if (!own || !theirs) return;
      own.closed = true;
      if (theirs.closed) {
        clearTimeout(idleTimer);
        clearTimeout(lingerTimer);
        resolve(result);
        return;
      }
      if (own.readEnded && theirs.readEnded) {
        // Clean finish: the other side has our end() queued; give it time to flush.
        lingerTimer = setTimeout(() => other.destroy(), lingerMs);
        lingerTimer.unref();
      } else {
        // Closed before both directions ended: nothing more can be delivered.
        if (result.outcome === 'closed' && !own.readEnded) result.outcome = 'error';
        other.destroy();
      }
    };

    for (const [stream, other] of [
      [a, b],
      [b, a],
    ] as const) {
      stream.on('error', onError);
      stream.once('close', () => onClose(stream, other));
    }
    forward(a, b, (n) => {
      result.bytesAtoB += n;
    });
    forward(
      b,
      a,
      (n) => {
        result.bytesBtoA += n;
      },
      options.observeBtoA,
    );

    // A side that is already gone will never emit 'close' again.
    for (const [stream, other] of [
      [a, b],
      [b, a],
    ] as const) {
      if (stream.destroyed && stream.closed) onClose(stream, other);
    }
  });
}

/**
 * Whether write() hands `to` the chunk's bytes before it returns: a TLS socket with nothing
 * queued passes it straight to OpenSSL, which encrypts it (or copies it) at once. Any other
 * stream, or one with a write in flight, may hold on to the buffer.
 */
function encryptsAtOnce(to: Duplex): boolean {
  return to instanceof TLSSocket && !to.connecting && to.writableLength === 0 && !to.writableCorked;
}
