// The two forms of a check's result: a report a person reads at a glance (grouped findings,
// each warn/fail with why and fix), and JSON with a stable, documented schema (docs/check.md).
import type { TargetFacts } from './facts.js';
import { CATEGORIES, type Finding, SEVERITIES, type Severity, worstSeverity } from './findings.js';

/** Bumped only on an incompatible change of the JSON below. */
export const JSON_SCHEMA_VERSION = 1;

export interface TargetResult {
  target: string;
  /** Set when the target could not be checked (exit status 4). */
  error?: string;
  findings: Finding[];
  facts?: TargetFacts;
}

export interface CheckResult {
  targets: TargetResult[];
  failOn: Severity;
  exitStatus: number;
}

export function summary(findings: readonly Finding[]): Record<Severity, number> {
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const finding of findings) counts[finding.severity]++;
  return counts;
}

export function toJson(result: CheckResult): string {
  const all = result.targets.flatMap((t) => t.findings);
  return `${JSON.stringify(
    {
      schemaVersion: JSON_SCHEMA_VERSION,
      failOn: result.failOn,
      exitStatus: result.exitStatus,
      summary: summary(all),
      targets: result.targets.map((t) => ({
        target: t.target,
        reachable: t.error === undefined,
        ...(t.error !== undefined ? { error: t.error } : {}),
        worst: worstSeverity(t.findings),
        summary: summary(t.findings),
        findings: t.findings,
        ...(t.facts ? { facts: t.facts } : {}),
      })),
    },
    null,
    2,
  )}\n`;
}

const LABEL: Record<Severity, string> = { ok: 'ok  ', info: 'info', warn: 'WARN', fail: 'FAIL' };

export function toText(result: CheckResult, options: { verbose?: boolean } = {}): string {
  const lines: string[] = [];
  for (const target of result.targets) {
    lines.push(`pgtunnel check ${target.target}`);
    if (target.error !== undefined) {
      lines.push(`  FAIL  could not check: ${target.error}`, '');
      continue;
    }
    for (const category of CATEGORIES) {
      const findings = target.findings.filter((f) => f.category === category);
      if (findings.length === 0) continue;
      lines.push('', `${category}`);
      for (const finding of findings) {
        lines.push(`  ${LABEL[finding.severity]}  ${finding.title}`);
        const showDetails =
          options.verbose ||
          finding.severity === 'warn' ||
          finding.severity === 'fail' ||
          finding.id !== 'cipher-list';
        if (showDetails)
          for (const detail of finding.details ?? []) lines.push(`          ${detail}`);
        if (finding.severity === 'warn' || finding.severity === 'fail') {
          if (finding.why) lines.push(`          why: ${finding.why}`);
          if (finding.fix) lines.push(`          fix: ${finding.fix}`);
        }
      }
    }
    const counts = summary(target.findings);
    lines.push(
      '',
      `summary: ${counts.fail} fail, ${counts.warn} warn, ${counts.info} info, ${counts.ok} ok`,
      '',
    );
  }
  return `${lines.join('\n')}`;
}
