// Adapts the pg_hba.conf / pg_ident.conf rules (src/hba) to the gateway's AccessPolicy.
import { authorize } from '../hba/authorize.js';
import { type LoadedHba, loadHba } from '../hba/load.js';
import { matchHba } from '../hba/match.js';
import type { TlsCapabilities } from '../hba/tls-requirements.js';
import type { SqlStateCode } from '../protocol/codes.js';
import type { AccessPolicy } from './access-policy.js';

/**
 * Loads both files completely (throwing ConfigError with file:line) and returns the policy.
 * `tls` says what the TLS settings allow: a `cert` rule without ssl_ca_file is refused.
 */
export async function loadHbaPolicy(
  hbaFile: string,
  identFile: string,
  tls: TlsCapabilities,
): Promise<AccessPolicy> {
  return hbaPolicy(await loadHba(hbaFile, identFile === '' ? undefined : identFile, tls));
}

/** The policy of rules already loaded (and checked) elsewhere. */
export function hbaPolicy(loaded: LoadedHba): AccessPolicy {
  return {
    warnings: loaded.warnings.map((warning) => `${warning.location}: ${warning.message}`),
    decide(facts) {
      const hbaFacts = {
        transport: facts.transport,
        ...(facts.address === undefined ? {} : { address: facts.address }),
        ssl: facts.ssl,
        database: facts.database,
        user: facts.user,
        replication: facts.replication,
      };
      const cert = facts.clientCertificate;
      const verdict = authorize(
        matchHba(loaded.rules, hbaFacts),
        hbaFacts,
        {
          presented: cert.presented,
          verified: cert.verified,
          ...(cert.verifyError === undefined ? {} : { verifyError: cert.verifyError }),
          ...(cert.cn === undefined ? {} : { cn: cert.cn }),
          ...(cert.dn === undefined ? {} : { dn: cert.dn }),
        },
        loaded.identMaps,
      );
      if (verdict.allow) {
        return {
          allow: true,
          passThroughAuth: verdict.passThroughAuth,
          rule: `${verdict.rule.file}:${verdict.rule.line}`,
        };
      }
      return {
        allow: false,
        sqlstate: verdict.sqlstate as SqlStateCode,
        message: verdict.message,
        detail: verdict.detail,
        logDetail: verdict.rule
          ? `${verdict.logDetail} (${verdict.rule.file}:${verdict.rule.line})`
          : verdict.logDetail,
      };
    },
  };
}
