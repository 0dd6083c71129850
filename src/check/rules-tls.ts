// Rules for the TLS layer: negotiation, protocol versions, cipher suites, key exchange,
// renegotiation and resumption. Pure: facts in, findings out.
import { CIPHER_WEAKNESS_ORDER, CIPHER_WEAKNESSES, cipherWeaknesses } from './cipher-suites.js';
import type { TargetFacts, TlsVersion } from './facts.js';
import { TLS_VERSIONS } from './facts.js';
import type { Finding } from './findings.js';

const STRONG_CIPHERS = "ssl_ciphers = 'ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL'";
const MIN_VERSION_FIX =
  "postgresql.conf or pgtunnel.conf: ssl_min_protocol_version = 'TLSv1.2' (PgBouncer: client_tls_protocols = tlsv1.2,tlsv1.3; stunnel: sslVersionMin = TLSv1.2)";

export function negotiationRules(facts: TargetFacts): Finding[] {
  const { negotiation } = facts;
  const out: Finding[] = [];
  const ssl = negotiation.sslRequest;
  if (ssl.answer === 'S') {
    out.push({
      id: 'sslrequest',
      category: 'negotiation',
      severity: 'ok',
      title: 'SSLRequest answered S: TLS offered',
    });
  } else if (ssl.answer === 'N') {
    out.push({
      id: 'sslrequest',
      category: 'negotiation',
      severity: 'fail',
      title: 'SSLRequest answered N: the server does not offer TLS',
      why: 'every session, passwords included, crosses the network unencrypted',
      fix: 'postgresql.conf: ssl = on, with ssl_cert_file and ssl_key_file (or put `pgtunnel serve` in front)',
    });
  } else {
    out.push({
      id: 'sslrequest',
      category: 'negotiation',
      severity: 'info',
      title: `SSLRequest not answered with S or N (${ssl.detail ?? ssl.answer})`,
      details: ['clients need sslnegotiation=direct (libpq 17+) to reach this endpoint'],
    });
  }
  const gss = negotiation.gssEncRequest;
  out.push({
    id: 'gssencrequest',
    category: 'negotiation',
    severity: 'info',
    title:
      gss.answer === 'G'
        ? 'GSSENCRequest answered G: GSSAPI encryption offered'
        : gss.answer === 'N'
          ? 'GSSENCRequest answered N: no GSSAPI encryption'
          : `GSSENCRequest not answered (${gss.detail ?? gss.answer})`,
  });
  const alpn = negotiation.directTlsAlpn;
  out.push(
    alpn.answer === 'accepted'
      ? {
          id: 'direct-tls',
          category: 'negotiation',
          severity: 'ok',
          title: `direct TLS with ALPN postgresql accepted (${alpn.detail ?? ''})`.replace(
            ' ()',
            '',
          ),
        }
      : {
          id: 'direct-tls',
          category: 'negotiation',
          severity: 'info',
          title: 'direct TLS (sslnegotiation=direct, PostgreSQL 17+) not accepted',
          ...(alpn.detail ? { details: [alpn.detail] } : {}),
        },
  );
  const noAlpn = negotiation.directTlsNoAlpn;
  if (noAlpn.answer === 'accepted') {
    out.push({
      id: 'direct-tls-without-alpn',
      category: 'negotiation',
      severity: 'warn',
      title: 'direct TLS without ALPN accepted',
      why: 'a TLS client of another protocol (a browser, a mail client) can be steered to this port: PostgreSQL 17+ refuses such handshakes against cross-protocol attacks',
      fix: 'require ALPN postgresql in the TLS terminator (HAProxy: alpn postgresql + strict-alpn; pgtunnel serve refuses it already), or use PostgreSQL 17+ directly',
    });
  } else {
    out.push({
      id: 'direct-tls-without-alpn',
      category: 'negotiation',
      severity: 'ok',
      title: 'direct TLS without ALPN refused',
    });
  }
  return out;
}

const DEPRECATED: Partial<Record<TlsVersion, string>> = {
  TLSv1: 'TLS 1.0',
  'TLSv1.1': 'TLS 1.1',
};

export function protocolRules(facts: TargetFacts): Finding[] {
  const { tls } = facts;
  if (!tls) return [];
  const out: Finding[] = [];
  const accepted = TLS_VERSIONS.filter((v) => tls.versions[v].accepted);
  if (accepted.length === 0) {
    const reasons = TLS_VERSIONS.map((v) => `${v}: ${tls.versions[v].detail ?? 'refused'}`);
    return [
      {
        id: 'tls-handshake',
        category: 'protocols',
        severity: 'fail',
        title: 'no TLS handshake completes with any protocol version',
        details: reasons,
        why: 'clients that require TLS cannot connect; clients with sslmode=prefer fall back to plaintext',
        fix: 'check the server log for TLS errors (certificate and key files, ssl_min_protocol_version, ssl_ciphers)',
      },
    ];
  }
  for (const version of TLS_VERSIONS) {
    const scan = tls.versions[version];
    const name = DEPRECATED[version];
    if (scan.accepted && name) {
      out.push({
        id: 'tls-version',
        category: 'protocols',
        severity: 'fail',
        title: `${version} accepted`,
        why: `${name} is deprecated (RFC 8996): weak hashes in the handshake and CBC attacks`,
        fix: MIN_VERSION_FIX,
      });
    } else if (scan.accepted) {
      out.push({
        id: 'tls-version',
        category: 'protocols',
        severity: 'ok',
        title: `${version} accepted`,
      });
    } else if (version === 'TLSv1.3') {
      out.push({
        id: 'tls-version',
        category: 'protocols',
        severity: 'info',
        title: 'TLSv1.3 not accepted',
        details: scan.detail ? [scan.detail] : [],
        fix: 'leave ssl_max_protocol_version empty (OpenSSL 1.1.1+ offers TLS 1.3)',
      });
    } else {
      out.push({
        id: 'tls-version',
        category: 'protocols',
        severity: 'ok',
        title: `${version} refused`,
      });
    }
  }
  return out;
}

export function cipherRules(facts: TargetFacts): Finding[] {
  const { tls } = facts;
  if (!tls) return [];
  const out: Finding[] = [];
  for (const weakness of CIPHER_WEAKNESS_ORDER) {
    const spec = CIPHER_WEAKNESSES[weakness];
    const hits: string[] = [];
    for (const version of TLS_VERSIONS) {
      const suites = tls.versions[version].ciphers.filter((c) =>
        cipherWeaknesses(c, version).includes(weakness),
      );
      if (suites.length > 0) hits.push(`${version}: ${suites.join(' ')}`);
    }
    if (hits.length === 0) continue;
    out.push({
      id: `cipher-${weakness}`,
      category: 'ciphers',
      severity: spec.severity,
      title: `${weakness === 'cbc-tls10' ? 'CBC suites with TLS 1.0/1.1' : `${weakness} suites`} accepted`,
      details: hits,
      why: spec.why,
      fix:
        weakness === 'cbc-tls10'
          ? MIN_VERSION_FIX
          : `postgresql.conf or pgtunnel.conf: ${STRONG_CIPHERS} (PgBouncer: client_tls_ciphers = secure)`,
    });
  }
  for (const version of TLS_VERSIONS) {
    const scan = tls.versions[version];
    if (scan.accepted) {
      out.push({
        id: 'cipher-list',
        category: 'ciphers',
        severity: 'info',
        title: `${version}: ${scan.ciphers.length} suite${scan.ciphers.length === 1 ? '' : 's'} accepted`,
        details: [scan.ciphers.join(' ')],
      });
    }
  }
  if (!out.some((f) => f.severity === 'warn' || f.severity === 'fail')) {
    out.unshift({
      id: 'cipher-weak',
      category: 'ciphers',
      severity: 'ok',
      title: 'no weak cipher suite accepted',
    });
  }
  return out;
}

export function keyExchangeRules(facts: TargetFacts): Finding[] {
  const { tls } = facts;
  if (!tls) return [];
  const out: Finding[] = [];
  const groups = tls.groups.filter((g) => g.accepted).map((g) => g.name);
  out.push({
    id: 'key-exchange-groups',
    category: 'key-exchange',
    severity: 'info',
    title:
      groups.length > 0
        ? `groups accepted: ${groups.join(' ')}`
        : 'no key exchange group could be confirmed',
  });
  const reneg = tls.renegotiation;
  if (reneg.answer === 'allowed') {
    out.push({
      id: 'renegotiation',
      category: 'key-exchange',
      severity: 'warn',
      title: 'client-initiated renegotiation allowed (TLS 1.2)',
      why: 'each renegotiation costs the server a full handshake: one client can keep its CPU busy',
      fix: 'terminate TLS where client renegotiation is refused (PostgreSQL refuses it); a Node.js server such as pgtunnel serve allows tls.CLIENT_RENEG_LIMIT (3) per connection every 10 minutes',
    });
  } else {
    out.push({
      id: 'renegotiation',
      category: 'key-exchange',
      severity: reneg.answer === 'refused' ? 'ok' : 'info',
      title:
        reneg.answer === 'refused'
          ? 'client-initiated renegotiation refused'
          : `renegotiation not determined: ${reneg.detail ?? ''}`,
    });
  }
  const resumption = tls.resumption;
  out.push({
    id: 'session-resumption',
    category: 'key-exchange',
    severity: 'info',
    title:
      resumption.answer === 'resumed'
        ? 'session resumption works (faster reconnects)'
        : `no session resumption${resumption.detail ? `: ${resumption.detail}` : ''}`,
  });
  return out;
}
