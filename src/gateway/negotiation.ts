// The gateway's side of the startup phase: the shared driver (src/startup/) with the gateway's
// TLS acceptor, its authentication_timeout, and its session record and metrics.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { PgTunnelError } from '../errors.js';
import type { Logger } from '../log.js';
import { negotiateStartup, type StartupOutcome } from '../startup/negotiate-startup.js';
import { offeredServerName } from '../tls/client-hello.js';
import { peekClientHello } from '../tls/peek-client-hello.js';
import { describeTlsSession } from '../tls/peer-identity.js';
import type { TlsAcceptor } from '../tls/tls-acceptor.js';
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
  const mainAcceptor = generation.tls;
  const outcome = await negotiateStartup(socket, {
    tlsAvailable: mainAcceptor !== undefined && transport === 'tcp',
    ...(mainAcceptor
      ? {
          startTls: async (raw: Duplex): Promise<TLSSocket> => {
            let acceptor = mainAcceptor;
            let tlsSocket: TLSSocket;
            try {
              // With routes, the server name in the ClientHello picks the certificate and CAs.
              if (generation.routes) acceptor = await routeAcceptor(raw as Socket, generation);
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
            // No setNoDelay here: TLS runs on the accepted socket's descriptor, which has it.
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

/** The TLS acceptor of the route whose server_name the client's ClientHello names. */
async function routeAcceptor(raw: Socket, generation: GatewayGeneration): Promise<TlsAcceptor> {
  const hello = await peekClientHello(raw);
  if (raw.destroyed) {
    throw new PgTunnelError(
      'ERR_TLS_HANDSHAKE',
      'the client closed the connection during the TLS handshake',
    );
  }
  const acceptor =
    generation.routes?.byServerName(offeredServerName(hello))?.route.tls ?? generation.tls;
  if (!acceptor) throw new Error('routes without a TLS acceptor');
  return acceptor;
}
