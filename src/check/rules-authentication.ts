// Rules for the startup probes: whether a session without TLS reaches authentication, and
// which authentication methods are offered over TLS (channel binding). Pure.
import type { StartupAnswer, TargetFacts } from './facts.js';
import type { Finding } from './findings.js';

export const HOSTSSL_FIX =
  'pg_hba.conf: write hostssl instead of host for TCP rules, and add `hostnossl all all all reject` before them (pgtunnel serve: the same in its hba_file)';

/** Refusals that are about the missing encryption (PostgreSQL, pgtunnel serve, PgBouncer). */
const ENCRYPTION_REFUSAL = /no encryption|SSL|TLS|encrypt/i;

function describeAnswer(answer: StartupAnswer): string {
  if (answer.kind === 'authentication') {
    return answer.method === 'sasl'
      ? `SASL (${(answer.mechanisms ?? []).join(', ')})`
      : answer.method === 'ok'
        ? 'AuthenticationOk (trust)'
        : answer.method;
  }
  if (answer.kind === 'error') return `${answer.sqlstate}: ${answer.message}`;
  return answer.detail;
}

export function authenticationRules(facts: TargetFacts): Finding[] {
  const out: Finding[] = [];
  const { plaintext, overTls, user } = facts.authentication;
  if (plaintext) {
    if (plaintext.kind === 'authentication') {
      out.push({
        id: 'plaintext-startup',
        category: 'authentication',
        severity: 'fail',
        title: `a session without TLS reaches authentication (user "${user}": ${describeAnswer(plaintext)})`,
        why: 'clients with sslmode=prefer or allow, or a man in the middle who strips TLS, log in unencrypted',
        fix:
          facts.negotiation.sslRequest.answer === 'N'
            ? `postgresql.conf: ssl = on; then ${HOSTSSL_FIX}`
            : HOSTSSL_FIX,
      });
    } else if (plaintext.kind === 'error' && ENCRYPTION_REFUSAL.test(plaintext.message)) {
      out.push({
        id: 'plaintext-startup',
        category: 'authentication',
        severity: 'ok',
        title: `a session without TLS is refused (${describeAnswer(plaintext)})`,
      });
    } else if (plaintext.kind === 'error') {
      out.push({
        id: 'plaintext-startup',
        category: 'authentication',
        severity: 'info',
        title: `a session without TLS for user "${user}" was refused for another reason than encryption (${describeAnswer(plaintext)})`,
        details: ['give user= of a real role to see whether its sessions need TLS'],
      });
    } else {
      out.push({
        id: 'plaintext-startup',
        category: 'authentication',
        severity: 'ok',
        title: `a session without TLS gets no answer (${plaintext.detail})`,
      });
    }
  }
  if (overTls) {
    if (overTls.kind === 'authentication') {
      const method = overTls.method;
      if (method === 'sasl' && overTls.mechanisms?.includes('SCRAM-SHA-256-PLUS')) {
        out.push({
          id: 'scram-channel-binding',
          category: 'authentication',
          severity: 'ok',
          title: 'SCRAM-SHA-256-PLUS offered over TLS: clients can use channel_binding=require',
        });
      } else if (method === 'sasl') {
        out.push({
          id: 'scram-channel-binding',
          category: 'authentication',
          severity: 'warn',
          title: `SCRAM offered over TLS without channel binding (${describeAnswer(overTls)})`,
          why: 'without SCRAM-SHA-256-PLUS a client cannot prove that no proxy sits between it and the server',
          fix: 'terminate TLS on PostgreSQL itself (or pass it through), so that the server can bind SCRAM to the TLS channel',
        });
      } else if (method === 'md5' || method === 'cleartext') {
        out.push({
          id: 'password-method',
          category: 'authentication',
          severity: 'warn',
          title: `the server asks for ${method === 'md5' ? 'an MD5 hashed' : 'a cleartext'} password (user "${user}")`,
          why:
            method === 'md5'
              ? 'MD5 is deprecated: a stolen hash logs in as the user'
              : 'the server sees the password itself; no channel binding',
          fix: "pg_hba.conf: scram-sha-256 instead of md5/password; postgresql.conf: password_encryption = 'scram-sha-256', then reset passwords",
        });
      } else if (method === 'ok') {
        out.push({
          id: 'trust-over-tcp',
          category: 'authentication',
          severity: 'fail',
          title: `user "${user}" is let in without a password (trust)`,
          why: 'anyone who can reach the port logs in as that user',
          fix: 'pg_hba.conf: replace trust with scram-sha-256 (or cert) on host/hostssl lines',
        });
      } else {
        out.push({
          id: 'password-method',
          category: 'authentication',
          severity: 'info',
          title: `authentication over TLS: ${describeAnswer(overTls)}`,
        });
      }
    } else {
      out.push({
        id: 'password-method',
        category: 'authentication',
        severity: 'info',
        title: `a startup over TLS was answered: ${describeAnswer(overTls)}`,
      });
    }
  }
  return out;
}
