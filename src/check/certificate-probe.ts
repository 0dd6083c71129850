// The server certificate: one Node handshake verifies the chain against the trust store
// (sslrootcert, ~/.postgresql/root.crt, or the system store), and openssl s_client shows the
// chain exactly as sent and the client-certificate request.
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type DetailedPeerCertificate, rootCertificates } from 'node:tls';
import {
  analyseChain,
  certificatesFromPem,
  checkNames,
  describeCertificate,
} from './certificate-facts.js';
import type { CertificateFacts, ClientCertificateFacts, TlsVersion } from './facts.js';
import { probeWithOpenssl } from './openssl-probe.js';
import { handshake, type ProbeContext, type TlsRoute } from './probe-connection.js';
import { baseTlsOptions, cipherStringFor } from './tls-probe.js';

const SYSTEM_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** Node's verification codes, as OpenSSL words them (X509_verify_cert_error_string). */
const VERIFY_ERRORS: Record<string, string> = {
  CERT_HAS_EXPIRED: 'certificate has expired',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in certificate chain',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unable to get local issuer certificate',
  UNABLE_TO_GET_ISSUER_CERT: 'unable to get issuer certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unable to verify the first certificate',
  CERT_SIGNATURE_FAILURE: 'certificate signature failure',
  CERT_REVOKED: 'certificate revoked',
  INVALID_CA: 'invalid CA certificate',
  CERT_UNTRUSTED: 'certificate not trusted',
  CA_KEY_TOO_SMALL: 'CA certificate key too weak',
  EE_KEY_TOO_SMALL: 'EE certificate key too weak',
  CA_MD_TOO_WEAK: 'CA signature digest algorithm too weak',
};

function verifyErrorText(error: unknown): string {
  const code =
    error instanceof Error ? ((error as { code?: string }).code ?? error.message) : String(error);
  return VERIFY_ERRORS[code] ? `${VERIFY_ERRORS[code]} (${code})` : code;
}

/** The CA certificates a libpq client would trust, and what to call them in the report. */
export function trustStore(sslrootcert: string | undefined): {
  store: 'sslrootcert' | 'system';
  pem: string;
} {
  const file = sslrootcert && sslrootcert !== 'system' ? sslrootcert : undefined;
  const userDefault = join(homedir(), '.postgresql', 'root.crt');
  if (file) return { store: 'sslrootcert', pem: readFileSync(file, 'utf8') };
  if (!sslrootcert && existsSync(userDefault))
    return { store: 'sslrootcert', pem: readFileSync(userDefault, 'utf8') };
  const pem = existsSync(SYSTEM_BUNDLE)
    ? readFileSync(SYSTEM_BUNDLE, 'utf8')
    : rootCertificates.join('\n');
  return { store: 'system', pem };
}

/** The chain Node reconstructed from the peer (used when openssl is not available). */
function chainFromNode(peer: DetailedPeerCertificate): X509Certificate[] {
  const chain: X509Certificate[] = [];
  let current: DetailedPeerCertificate | undefined = peer;
  while (current?.raw && chain.length < 10) {
    chain.push(new X509Certificate(current.raw));
    const next: DetailedPeerCertificate | undefined = current.issuerCertificate;
    if (!next || next === current || next.fingerprint256 === current.fingerprint256) break;
    current = next;
  }
  return chain;
}

export interface CertificateProbeResult {
  certificate?: CertificateFacts;
  clientCertificate: ClientCertificateFacts;
}

export async function probeCertificate(
  ctx: ProbeContext,
  route: TlsRoute,
  version: TlsVersion,
  now: Date = new Date(),
): Promise<CertificateProbeResult> {
  const trust = trustStore(ctx.target.sslrootcert);
  const verified = await handshake(
    ctx,
    route,
    {
      ...baseTlsOptions(ctx, route),
      minVersion: version,
      maxVersion: version,
      ciphers: cipherStringFor(version, []),
      ca: trust.pem || undefined,
    },
    (outcome) => {
      if (!outcome.ok) return undefined;
      const socket = outcome.socket;
      const error = socket.authorizationError;
      return {
        trusted: socket.authorized,
        error: error ? verifyErrorText(error) : undefined,
        chain: chainFromNode(socket.getPeerCertificate(true)),
      };
    },
  );
  const fromOpenssl = await probeWithOpenssl(ctx, route);
  const clientCertificate: ClientCertificateFacts =
    'report' in fromOpenssl
      ? {
          caNames: fromOpenssl.report.caNames,
          ...(fromOpenssl.report.certificateRequested !== undefined
            ? { requested: fromOpenssl.report.certificateRequested }
            : {}),
        }
      : { caNames: [], detail: fromOpenssl.error };
  if (!verified) return { clientCertificate };

  // Unreadable blocks are skipped; with none left, Node's view of the chain is used.
  const sent =
    'report' in fromOpenssl ? certificatesFromPem(fromOpenssl.report.chain.join('')) : [];
  const chain = sent.length > 0 ? sent : verified.chain;
  const leaf = chain[0];
  if (!leaf) return { clientCertificate };
  const { inOrder, complete } = analyseChain(chain, certificatesFromPem(trust.pem));
  const certificate: CertificateFacts = {
    chain: chain.map((c) => describeCertificate(c, now)),
    chainSource: sent.length > 0 ? 'openssl' : 'node',
    inOrder,
    complete,
    trust: {
      store: trust.store,
      trusted: verified.trusted,
      ...(verified.error ? { error: verified.error } : {}),
    },
    names: checkNames(leaf, ctx.target.names),
  };
  return { certificate, clientCertificate };
}
