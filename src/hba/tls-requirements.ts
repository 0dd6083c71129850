// Rules checked against what the server's TLS settings can do. PostgreSQL only finds out when
// a client connects ("client certificates can only be checked if a root certificate store is
// available"); a rule that can never be honoured is refused at load instead, with its line.
import { type HbaProblem, type HbaWarning, problem } from './problems.js';
import type { HbaRule } from './types.js';

/** What the gateway's TLS settings offer the rules. */
export interface TlsCapabilities {
  /** `ssl = on`: hostssl rules can match. */
  ssl: boolean;
  /** `ssl_ca_file` is set: clients are asked for a certificate, which is then verified. */
  clientCertificates: boolean;
}

/**
 * Problems (a `cert` or `clientcert=` rule without ssl_ca_file) and warnings (hostssl rules
 * with ssl off, which PostgreSQL keeps but notes as never matching).
 */
export function checkTlsRequirements(
  rules: readonly HbaRule[],
  tls: TlsCapabilities,
): { problems: HbaProblem[]; warnings: HbaWarning[] } {
  const problems: HbaProblem[] = [];
  const warnings: HbaWarning[] = [];
  for (const rule of rules) {
    if (rule.connectionType !== 'hostssl') continue;
    if (!tls.ssl) {
      warnings.push({
        location: `${rule.file}:${rule.line}`,
        message: 'hostssl record cannot match because SSL is disabled',
      });
    } else if (rule.clientCert !== 'off' && !tls.clientCertificates) {
      const what = rule.method === 'cert' ? 'cert authentication' : `clientcert=${rule.clientCert}`;
      problems.push(
        problem(
          'ERR_HBA_UNSUPPORTED',
          rule.file,
          rule.line,
          `${what} needs ssl_ca_file: client certificates can only be checked if a root ` +
            'certificate store is available',
        ),
      );
    }
  }
  return { problems, warnings };
}
