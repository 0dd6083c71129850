// All rules in report order: each turns the facts about one target into findings.
import type { TargetFacts } from './facts.js';
import type { Finding } from './findings.js';
import { authenticationRules } from './rules-authentication.js';
import { certificateRules, clientCertificateRules } from './rules-certificate.js';
import { hbaRules, roleRules, sessionRules, settingsRules } from './rules-database.js';
import { cipherRules, keyExchangeRules, negotiationRules, protocolRules } from './rules-tls.js';

export const RULES: ReadonlyArray<(facts: TargetFacts) => Finding[]> = [
  negotiationRules,
  protocolRules,
  cipherRules,
  keyExchangeRules,
  certificateRules,
  clientCertificateRules,
  authenticationRules,
  settingsRules,
  hbaRules,
  roleRules,
  sessionRules,
];

export function evaluate(facts: TargetFacts): Finding[] {
  return RULES.flatMap((rule) => rule(facts));
}
