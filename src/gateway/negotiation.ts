// The gateway's side of the startup phase: the shared driver (src/startup/) with the gateway's
// TLS acceptor, its authentication_timeout, and its session record and metrics.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../log.js';
import { negotiateStartup, type StartupOutcome } from '../startup/negotiate-startup.js';
import { describeTlsSession } from '../tls/peer-identity.js';
import type { SessionRecord } from './gateway-sessions.js';
import type { GatewayEvents, GatewayGeneration } from './generation.js';
import { reportHandshakeFailure } from './handshake-report.js';

/** SSLRequest / GSSENCRequest / direct TLS, until a StartupMessage or CancelRequest arrives. */
export async function negotiate(
  socket: Socket,
  transport: 'tcp' | 'local',
  generation: GatewayGeneration,
  record: SessionRecord,
  log: Logger,
  events: GatewayEvents,
): Promise<StartupOutcome> {
  const acceptor = generation.tls;
  const outcome = await negotiateStartup(socket, {
    tlsAvailable: acceptor !== undefined && transport === 'tcp',
    ...(acceptor
      ? {
          startTls: async (raw: Duplex): Promise<TLSSocket> => {
            let tlsSocket: TLSSocket;
            try {
              tlsSocket = await acceptor.accept(
                raw as Socket,
                generation.settings.authentication_timeout,
              );
            } catch (error) {
              // Failed, timed out, or the client left during the handshake.
              reportHandshakeFailure(error, record, log, events);
              throw error;
            }
            tlsSocket.on('error', () => {});
            tlsSocket.setNoDelay(true);
            record.tls = describeTlsSession(tlsSocket, acceptor.trustedCas);
            record.sockets.add(tlsSocket as unknown as Socket);
            return tlsSocket;
          },
        }
      : {}),
  });
  if (outcome.kind === 'refused') {
    events.connectionRefused('protocol_violation');
    log.info({ client: record.clientAddress }, outcome.message);
  } else if (outcome.kind === 'closed' && outcome.reason === 'direct_tls_unavailable') {
    log.info({ client: record.clientAddress }, outcome.message);
  }
  return outcome;
}
