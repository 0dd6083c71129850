// Counts and logs a failed TLS handshake with its reason and the client's address. A client
// certificate that does not verify is counted here too: PostgreSQL fails the handshake for it,
// while the gateway completes it only to send a readable FATAL afterwards.
import type { Logger } from '../log.js';
import type { CertificateEntry } from '../tls/certificate-inventory.js';
import { handshakeFailureReason, verifyErrorReason } from '../tls/handshake-failure.js';
import type { TlsSessionInfo } from '../tls/peer-identity.js';
import type { SessionRecord } from './gateway-sessions.js';
import type { GatewayEvents } from './generation.js';

export function reportHandshakeFailure(
  error: unknown,
  record: SessionRecord,
  log: Logger,
  events: GatewayEvents,
): void {
  const reason = handshakeFailureReason(error);
  events.tlsHandshakeFailed(reason);
  log.info(
    {
      client: record.clientAddress,
      port: record.clientPort,
      reason,
      err: error instanceof Error ? error.message : String(error),
    },
    `TLS handshake failed: ${reason}`,
  );
}

/** After a completed handshake: reports a presented client certificate that did not verify. */
export function reportUnverifiedClientCertificate(
  tls: TlsSessionInfo | undefined,
  record: SessionRecord,
  log: Logger,
  events: GatewayEvents,
  certificates: readonly CertificateEntry[],
): void {
  if (!tls?.client.presented || tls.client.verified) return;
  const issuerKnown = certificates.some(
    (entry) => entry.kind === 'ca' && entry.subject === tls.client.issuerDn,
  );
  const reason = verifyErrorReason(tls.client.verifyError, issuerKnown);
  events.tlsHandshakeFailed(reason);
  log.info(
    {
      client: record.clientAddress,
      port: record.clientPort,
      reason,
      client_dn: tls.client.dn,
      err: tls.client.verifyError,
    },
    `TLS handshake failed: ${reason} (client certificate did not verify)`,
  );
}
