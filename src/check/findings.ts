// A finding is one line of the report: what was seen, how serious it is, why it matters and
// the exact fix. Severities are ordered; the report and the exit status read them.

export const SEVERITIES = ['ok', 'info', 'warn', 'fail'] as const;
export type Severity = (typeof SEVERITIES)[number];

export function isSeverity(value: string): value is Severity {
  return (SEVERITIES as readonly string[]).includes(value);
}

export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

/** Report sections, in the order they are printed. */
export const CATEGORIES = [
  'negotiation',
  'protocols',
  'ciphers',
  'key-exchange',
  'certificate',
  'client-certificates',
  'authentication',
  'settings',
  'pg_hba',
  'roles',
  'sessions',
] as const;
export type Category = (typeof CATEGORIES)[number];

export interface Finding {
  /** Stable identifier (part of the JSON schema), e.g. `tls-version-accepted`. */
  id: string;
  category: Category;
  severity: Severity;
  /** What was seen, one line. */
  title: string;
  /** Extra lines: the cipher suites, the pg_hba.conf line, the error text. */
  details?: string[];
  /** Why it matters (warn and fail). */
  why?: string;
  /** The exact change that fixes it (warn and fail). */
  fix?: string;
}

export function worstSeverity(findings: readonly Finding[]): Severity {
  let worst: Severity = 'ok';
  for (const finding of findings) {
    if (severityRank(finding.severity) > severityRank(worst)) worst = finding.severity;
  }
  return worst;
}
