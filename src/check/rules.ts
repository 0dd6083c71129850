// All rules in report order: each turns the facts about one target into findings.
import type { TargetFacts } from './facts.js';
import type { Finding } from './findings.js';
import {
  authenticationRules,
  hbaRules,
  roleRules,
  sessionRules,
  settingsRules,
} from './rules-server.js';
import {
  certificateRules,
  cipherRules,
  clientCertificateRules,
  keyExchangeRules,
  negotiationRules,
  protocolRules,
} from './rules-tls.js';

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
