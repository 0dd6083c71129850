// Runs `pgtunnel check` as a user does (the CLI from the sources) and reads its report or JSON.
import { cliArgs, PROJECT_ROOT } from './pgtunnel-process.js';
import { type RunResult, run } from './run.js';

export interface CheckFinding {
  id: string;
  category: string;
  severity: 'ok' | 'info' | 'warn' | 'fail';
  title: string;
  details?: string[];
  why?: string;
  fix?: string;
}

export interface CheckJson {
  schemaVersion: number;
  exitStatus: number;
  summary: Record<string, number>;
  targets: Array<{
    target: string;
    reachable: boolean;
    error?: string;
    worst: string;
    findings: CheckFinding[];
    facts?: {
      tls?: { versions: Record<string, { accepted: boolean; ciphers: string[] }> };
    };
  }>;
}

/** A clean environment: no developer PG* settings, no ~/.pgpass, a terminal-less stderr. */
export function checkEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: '/nonexistent', LANG: 'C', ...extra };
}

export function runCheck(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return run(process.execPath, cliArgs(['check', '--timeout', '30', ...args]), {
    cwd: PROJECT_ROOT,
    env: checkEnv(env),
    timeoutMs: 600_000,
  });
}

/** Runs the check with --json --facts and parses the result. */
export async function runCheckJson(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ result: RunResult; json: CheckJson; findings: CheckFinding[] }> {
  const result = await runCheck(['--json', '--facts', ...args], env);
  let json: CheckJson;
  try {
    json = JSON.parse(result.stdout) as CheckJson;
  } catch {
    throw new Error(
      `pgtunnel check did not print JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`,
    );
  }
  return { result, json, findings: json.targets.flatMap((t) => t.findings) };
}

/** The findings with this id (and severity when given). */
export function findingsOf(
  findings: CheckFinding[],
  id: string,
  severity?: string,
): CheckFinding[] {
  return findings.filter((f) => f.id === id && (severity === undefined || f.severity === severity));
}
