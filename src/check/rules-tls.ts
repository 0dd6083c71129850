// Rules for what the network shows: negotiation, protocol versions, cipher suites, key
// exchange, renegotiation, resumption and the certificate. Pure: facts in, findings out.
import { CIPHER_WEAKNESS_ORDER, CIPHER_WEAKNESSES, cipherWeaknesses } from './cipher-suites.js';
import type { CertificateInfo, TargetFacts, TlsVersion } from './facts.js';
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

function weakKey(cert: CertificateInfo): string | undefined {
  if (cert.keyType === 'rsa' || cert.keyType === 'rsa-pss' || cert.keyType === 'dsa') {
    if ((cert.keyBits ?? 0) < 2048)
      return `${cert.keyType.toUpperCase()} ${cert.keyBits ?? '?'} bits`;
  }
  if (cert.keyType === 'ec' && (cert.keyBits ?? 0) < 256)
    return `EC ${cert.curve ?? ''} ${cert.keyBits ?? '?'} bits`;
  return undefined;
}

function keyText(cert: CertificateInfo): string {
  if (cert.keyType === 'ec') return `EC ${cert.curve ?? ''}`.trim();
  if (cert.keyBits) return `${cert.keyType.toUpperCase()} ${cert.keyBits} bits`;
  return cert.keyType.toUpperCase();
}

export function certificateRules(facts: TargetFacts): Finding[] {
  const certificate = facts.tls?.certificate;
  if (!certificate) return [];
  const out: Finding[] = [];
  const leaf = certificate.chain[0];
  if (!leaf) return out;
  const certFix =
    'ssl_cert_file: the server certificate first, then each intermediate CA certificate';
  out.push({
    id: 'certificate-chain',
    category: 'certificate',
    severity: 'info',
    title: `chain as sent (${certificate.chainSource === 'openssl' ? 'openssl s_client' : 'rebuilt by Node'}): ${certificate.chain.length} certificate${certificate.chain.length === 1 ? '' : 's'}`,
    details: certificate.chain.map((c, i) => `${i} s:${c.subject}  i:${c.issuer}`),
  });
  if (!certificate.inOrder && certificate.chain.length > 1) {
    out.push({
      id: 'certificate-chain-order',
      category: 'certificate',
      severity: 'warn',
      title: 'certificates are not in order (each should be signed by the next)',
      why: 'strict clients fail to build the chain',
      fix: certFix,
    });
  }
  if (!certificate.complete) {
    out.push({
      id: 'certificate-chain-incomplete',
      category: 'certificate',
      severity: 'warn',
      title: 'the chain does not reach a root CA the client trusts',
      why: 'clients must hold every intermediate CA in sslrootcert, or verification fails',
      fix: certFix,
    });
  }
  const trust = certificate.trust;
  out.push(
    trust.trusted
      ? {
          id: 'certificate-trust',
          category: 'certificate',
          severity: 'ok',
          title: `trusted by ${trust.store === 'system' ? 'the system CA store' : 'sslrootcert'}`,
        }
      : {
          id: 'certificate-trust',
          category: 'certificate',
          severity: 'fail',
          title: `not trusted by ${trust.store === 'system' ? 'the system CA store' : 'sslrootcert'}: ${trust.error ?? 'verification failed'}`,
          why: 'clients with sslmode=verify-ca or verify-full refuse the server; weaker modes cannot tell it from an impostor',
          fix:
            trust.store === 'system'
              ? 'give clients the CA that signed the server: sslrootcert=/path/to/root.crt (and check it with --ssl-root-cert)'
              : 'serve a certificate signed by the CA in sslrootcert (or give clients the right CA file)',
        },
  );
  for (const name of certificate.names) {
    out.push(
      name.problem === undefined
        ? {
            id: 'certificate-host-name',
            category: 'certificate',
            severity: 'ok',
            title: `host name "${name.name}" matches`,
          }
        : {
            id: 'certificate-host-name',
            category: 'certificate',
            severity: 'fail',
            title: name.problem,
            why: 'sslmode=verify-full refuses the connection',
            fix: `issue a certificate with subjectAltName DNS:${name.name} (pgtunnel ca issue server --cn ${name.name})`,
          },
    );
  }
  if (leaf.expired) {
    out.push({
      id: 'certificate-expiry',
      category: 'certificate',
      severity: 'fail',
      title: `expired on ${leaf.notAfter.slice(0, 10)} (${-leaf.daysLeft} days ago)`,
      why: 'clients that verify the certificate refuse to connect',
      fix: 'renew the certificate (pgtunnel ca renew …), put it in ssl_cert_file and reload (SELECT pg_reload_conf())',
    });
  } else if (leaf.daysLeft <= 30) {
    out.push({
      id: 'certificate-expiry',
      category: 'certificate',
      severity: 'warn',
      title: `expires in ${leaf.daysLeft} days (${leaf.notAfter.slice(0, 10)})`,
      why: 'once it expires, clients that verify it stop connecting',
      fix: 'renew the certificate now and reload the server',
    });
  } else {
    out.push({
      id: 'certificate-expiry',
      category: 'certificate',
      severity: 'ok',
      title: `valid for ${leaf.daysLeft} more days (until ${leaf.notAfter.slice(0, 10)})`,
    });
  }
  const weak = weakKey(leaf);
  out.push(
    weak
      ? {
          id: 'certificate-key',
          category: 'certificate',
          severity: 'fail',
          title: `weak key: ${weak}`,
          why: 'short keys can be factored or broken',
          fix: 'issue a new certificate with an RSA 2048+ or ECDSA P-256 key',
        }
      : {
          id: 'certificate-key',
          category: 'certificate',
          severity: 'ok',
          title: `key: ${keyText(leaf)}`,
        },
  );
  const weakSignature = /md5|sha1|SHA1/i.test(leaf.signatureAlgorithm);
  out.push(
    weakSignature
      ? {
          id: 'certificate-signature',
          category: 'certificate',
          severity: 'fail',
          title: `signature algorithm ${leaf.signatureAlgorithm}`,
          why: 'MD5 and SHA-1 signatures can be forged (collisions); OpenSSL 3 clients refuse them',
          fix: 'reissue the certificate signed with SHA-256 or better',
        }
      : {
          id: 'certificate-signature',
          category: 'certificate',
          severity: 'ok',
          title: `signature algorithm ${leaf.signatureAlgorithm}`,
        },
  );
  if (leaf.selfSigned) {
    out.push({
      id: 'certificate-self-signed',
      category: 'certificate',
      severity: 'warn',
      title: 'the server certificate is self-signed',
      why: 'clients can only trust it by pinning this very certificate; it cannot be revoked or rotated cleanly',
      fix: 'issue the server certificate from a CA (pgtunnel ca init; pgtunnel ca issue server …)',
    });
  }
  if (leaf.isCa && certificate.chain.length > 0 && !leaf.selfSigned) {
    out.push({
      id: 'certificate-ca-flag',
      category: 'certificate',
      severity: 'warn',
      title: 'the server certificate has CA:TRUE',
      why: 'whoever holds the server key can sign certificates for other hosts',
      fix: 'reissue the server certificate with basicConstraints CA:FALSE',
    });
  }
  certificate.chain.slice(1).forEach((cert, i) => {
    if (!cert.isCa) {
      out.push({
        id: 'certificate-ca-flag',
        category: 'certificate',
        severity: 'fail',
        title: `chain certificate ${i + 1} (${cert.subject}) is not a CA but is sent as an issuer`,
        why: 'clients refuse a chain whose issuer is not a CA',
        fix: 'send the real intermediate CA certificate in ssl_cert_file',
      });
    }
  });
  return out;
}

export function clientCertificateRules(facts: TargetFacts): Finding[] {
  const client = facts.tls?.clientCertificate;
  if (!client) return [];
  if (client.requested === undefined) {
    return [
      {
        id: 'client-certificate-request',
        category: 'client-certificates',
        severity: 'info',
        title: `whether the server asks for a client certificate is unknown${client.detail ? `: ${client.detail}` : ''}`,
      },
    ];
  }
  if (!client.requested) {
    return [
      {
        id: 'client-certificate-request',
        category: 'client-certificates',
        severity: 'info',
        title:
          'the server does not ask for a client certificate (cert authentication and clientcert= are not possible)',
      },
    ];
  }
  return [
    {
      id: 'client-certificate-request',
      category: 'client-certificates',
      severity: 'info',
      title: `the server asks for a client certificate${client.caNames.length > 0 ? ' from these CAs:' : ' (no CA names listed)'}`,
      details: client.caNames,
    },
  ];
}
