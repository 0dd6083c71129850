// Rules for the server certificate (chain, trust, names, expiry, key, signature, CA flag) and
// the client-certificate request. Pure: facts in, findings out.
import type { CertificateInfo, TargetFacts } from './facts.js';
import type { Finding } from './findings.js';

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
