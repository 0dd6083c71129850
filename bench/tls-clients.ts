// The benchmark's own TLS clients, for what pgbench cannot do: TLS handshakes alone (full, or
// resumed with the session ticket of the previous one) and many idle sessions held open. They
// speak direct TLS with ALPN `postgresql` (PostgreSQL 17's sslnegotiation=direct), which
// `pgtunnel serve` and HAProxy both accept, so both do the same work per connection.
import { type TLSSocket, connect as tlsConnect } from 'node:tls';

const ALPN = ['postgresql'];

function handshake(port: number, session: Buffer | undefined): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      ALPNProtocols: ALPN,
      rejectUnauthorized: false,
      ...(session ? { session } : {}),
    });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/**
 * `count` handshakes, `concurrency` at a time, each connection closed once it is up. With
 * `resume`, each offers the latest session ticket it was given; returns how many resumed.
 */
export async function runHandshakes(
  port: number,
  options: { count: number; concurrency: number; resume: boolean },
): Promise<{ resumed: number }> {
  let started = 0;
  let resumed = 0;
  let ticket: Buffer | undefined;
  const one = async (): Promise<void> => {
    const socket = await handshake(port, options.resume ? ticket : undefined);
    const reused = socket.isSessionReused();
    if (reused) resumed++;
    // A resumed session gets no new ticket from Node or HAProxy: the one it used serves again.
    if (options.resume && !reused) {
      // TLS 1.3 tickets come after the handshake: read until one arrives (a server that
      // sends none is given a second, then the next handshake is a full one).
      const next = await new Promise<Buffer | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), 1000);
        socket.once('session', (session: Buffer) => {
          clearTimeout(timer);
          resolve(session);
        });
        socket.once('close', () => {
          clearTimeout(timer);
          resolve(undefined);
        });
        socket.resume();
      });
      if (next) ticket = next;
    }
    // Close as a client that changed its mind does: close_notify, then wait for the server's
    // close. Destroying at once could cut the server's handshake short (the client is done
    // one flight before the server), and the server would count a failed handshake instead.
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.end();
      socket.resume();
    });
  };
  if (options.resume) await one(); // the first ticket
  const loop = async () => {
    while (started < options.count) {
      started++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, loop));
  return { resumed };
}

/** A StartupMessage (protocol 3.0) for `user` on database `user`. */
function startupMessage(user: string): Buffer {
  const body = Buffer.from(`user\0${user}\0database\0${user}\0\0`);
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + body.length, 0);
  head.writeInt32BE(196608, 4);
  return Buffer.concat([head, body]);
}

/** Opens a session up to its first ReadyForQuery and leaves it idle. */
async function openSession(port: number, user: string): Promise<TLSSocket> {
  const socket = await handshake(port, undefined);
  socket.write(startupMessage(user));
  await new Promise<void>((resolve, reject) => {
    let pending = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 5) {
        const length = pending.readInt32BE(1);
        if (pending.length < 1 + length) return;
        const type = String.fromCharCode(pending[0] ?? 0);
        pending = pending.subarray(1 + length);
        if (type === 'E') reject(new Error('the server refused an idle session'));
        if (type === 'Z') {
          socket.off('data', onData);
          resolve();
          return;
        }
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('the server closed an idle session')));
  });
  return socket;
}

/** `count` idle sessions, opened `concurrency` at a time; close() ends them all. */
export async function openIdleSessions(
  port: number,
  options: { count: number; concurrency: number; user: string },
): Promise<{ close(): void }> {
  const sockets: TLSSocket[] = [];
  const close = () => {
    for (const socket of sockets) socket.destroy();
  };
  let started = 0;
  const loop = async () => {
    while (started < options.count) {
      started++;
      sockets.push(await openSession(port, options.user));
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, loop));
  } catch (error) {
    close();
    throw error;
  }
  return { close };
}
