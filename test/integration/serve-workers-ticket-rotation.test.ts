// TLS session-ticket keys rotate on a schedule (ssl_ticket_key_rotation): after one rotation a
// ticket still resumes, on every worker (the previous key is kept for it); after two it no
// longer does. Rotations are observed in the log, so a slow machine makes an attempt
// inconclusive (and repeated), never wrong.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { TLSSocket } from 'node:tls';
import { openTlsSession } from '../helpers/raw-client.js';
import { startWorkersGateway, type WorkersGateway } from '../helpers/worker-status.js';

const WORKERS = 2;
const ROTATED = 'TLS session-ticket keys rotated';

describe('serve: session-ticket key rotation with workers', () => {
  let gateway: WorkersGateway;
  before(async () => {
    gateway = await startWorkersGateway(WORKERS, {
      serveArgs: ['--ssl-ticket-key-rotation', '3s', '--log-min-messages', 'debug'],
    });
  });
  after(async () => {
    await gateway?.env.close();
  });

  /** The latest rotation the primary announced (0 before the first). */
  const primaryRotation = () => {
    const primary = gateway.env.gateway.child.pid;
    let latest = 0;
    for (const record of gateway.env.gateway.logs())
      if (record.msg === ROTATED && record.pid === primary)
        latest = Math.max(latest, Number(record.rotation));
    return latest;
  };
  /** Waits until every worker has applied rotation `n`. */
  const workersAt = async (n: number) => {
    const primary = gateway.env.gateway.child.pid;
    for (;;) {
      const applied = new Set(
        gateway.env.gateway
          .logs()
          .filter((r) => r.msg === ROTATED && r.pid !== primary && Number(r.rotation) >= n)
          .map((r) => r.pid),
      );
      if (n === 0 || applied.size >= WORKERS) return;
      await delay(20);
    }
  };
  const handshake = (session?: Buffer): Promise<TLSSocket> =>
    openTlsSession(gateway.env.port, gateway.env.pki.caBundle, {
      alpn: ['postgresql'],
      ...(session ? { session } : {}),
    });

  /**
   * A ticket issued at some rotation r, then `resumes` handshakes once every worker is at
   * r + `later` and before the primary moves on; undefined when the clock won that race.
   */
  async function attempt(later: number): Promise<boolean[] | undefined> {
    const r = primaryRotation();
    await workersAt(r);
    const first = await handshake();
    const ticket = await new Promise<Buffer>((resolve) => first.once('session', resolve));
    first.destroy();
    if (primaryRotation() !== r) return undefined;
    while (primaryRotation() < r + later) await delay(20);
    await workersAt(r + later);
    // Workers take connections as each is free, not in turn: several handshakes, so that every
    // worker is all but sure to take one.
    const reused: boolean[] = [];
    for (let i = 0; i < 4 * WORKERS; i++) {
      const socket = await handshake(ticket);
      reused.push(socket.isSessionReused());
      socket.destroy();
    }
    return primaryRotation() === r + later ? reused : undefined;
  }

  it('resumes a ticket after one rotation on every worker', async () => {
    let reused: boolean[] | undefined;
    while (!reused) reused = await attempt(1);
    assert.deepEqual(reused, new Array(4 * WORKERS).fill(true));
  });

  it('no longer resumes it after two rotations', async () => {
    let reused: boolean[] | undefined;
    while (!reused) reused = await attempt(2);
    assert.deepEqual(reused, new Array(4 * WORKERS).fill(false));
  });
});
