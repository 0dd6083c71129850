// Raw (stunnel-compatible) relays, not PostgreSQL-aware: `connect --raw` takes plaintext and
// forwards it over TLS from the first byte; `serve --raw` (raw-server.ts) does the reverse.
import type { Duplex } from 'node:stream';
import { describeError } from '../errors.js';
import { connectionOrder } from '../libpq/addresses.js';
import type { UpstreamTarget } from '../libpq/upstream-target.js';
import type { TlsEnvironment } from '../libpq/upstream-tls.js';
import type { Logger } from '../log.js';
import { type PumpResult, pump } from '../net/pump.js';
import { openRawTlsConnection, type RawTlsConnection } from './raw-tls-dial.js';

export interface RawClientContext {
  name: string;
  targets: readonly UpstreamTarget[];
  logger: Logger;
  idleTimeoutMs?: number | undefined;
  tlsEnvironment?: TlsEnvironment;
}

/**
 * Relays one plaintext client to the first target that completes a TLS handshake with the
 * sslmode's checks. A failure can only be reported by closing: raw mode has no protocol to
 * carry an error message, so it is logged.
 */
export async function handleRawClientConnection(
  client: Duplex,
  context: RawClientContext,
  connectionId: number,
  peer: string,
  track?: (upstream: Duplex) => void,
): Promise<PumpResult | undefined> {
  const log = context.logger.child({ tunnel: context.name, conn: connectionId, client: peer });
  client.on('error', (error) => log.debug({ err: describeError(error) }, 'client error'));
  // Hold the client's bytes until the TLS leg is up; they are sent once it is.
  client.pause();
  let upstream: RawTlsConnection | undefined;
  const failures: string[] = [];
  for (const target of connectionOrder(context.targets)) {
    try {
      upstream = await openRawTlsConnection(target, { tlsEnvironment: context.tlsEnvironment });
      break;
    } catch (error) {
      failures.push(describeError(error));
    }
  }
  if (!upstream) {
    log.warn({ err: failures.join('\n') }, 'upstream connection failed');
    client.destroy();
    return undefined;
  }
  track?.(upstream.socket);
  log.info({ upstream: upstream.describe }, 'session started');
  const started = Date.now();
  const result = await pump(client, upstream.socket, {
    ...(context.idleTimeoutMs ? { idleTimeoutMs: context.idleTimeoutMs } : {}),
  });
  log.info(
    {
      upstream: upstream.describe,
      durationMs: Date.now() - started,
      bytesFromClient: result.bytesAtoB,
      bytesToClient: result.bytesBtoA,
      outcome: result.outcome,
      ...(result.error ? { err: describeError(result.error) } : {}),
    },
    'session ended',
  );
  return result;
}
