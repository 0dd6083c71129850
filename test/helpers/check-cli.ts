// Runs `pgtunnel check` as a user does (the CLI from the sources) and reads its report or JSON.
import assert from 'node:assert/strict';
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

const SSLSCAN_VERSION: Record<string, string> = {
  'TLSv1.0': 'TLSv1',
  'TLSv1.1': 'TLSv1.1',
  'TLSv1.2': 'TLSv1.2',
  'TLSv1.3': 'TLSv1.3',
};

/** sslscan's protocol and cipher rows: version → accepted suites (undefined when disabled). */
async function sslscan(
  port: number,
  starttls: boolean,
): Promise<Record<string, string[] | undefined>> {
  const result = await run(
    'sslscan',
    ['--no-colour', ...(starttls ? ['--starttls-psql'] : []), `127.0.0.1:${port}`],
    {
      timeoutMs: 300_000,
    },
  );
  assert.equal(result.code, 0, result.stderr);
  const rows: Record<string, string[] | undefined> = {};
  for (const line of result.stdout.split('\n')) {
    const protocol = /^(TLSv1\.[0-3])\s+(enabled|disabled)/.exec(line);
    if (protocol?.[1]) {
      const version = SSLSCAN_VERSION[protocol[1]] ?? protocol[1];
      rows[version] = protocol[2] === 'enabled' ? (rows[version] ?? []) : undefined;
    }
    const cipher = /^(?:Preferred|Accepted)\s+(TLSv1\.[0-3])\s+\d+ bits\s+(\S+)/.exec(line);
    if (cipher?.[1] && cipher[2]) {
      const version = SSLSCAN_VERSION[cipher[1]] ?? cipher[1];
      rows[version] = [...(rows[version] ?? []), cipher[2]];
    }
  }
  return rows;
}

function ourRows(json: CheckJson): Record<string, string[] | undefined> {
  const versions = json.targets[0]?.facts?.tls?.versions ?? {};
  return Object.fromEntries(
    Object.entries(versions).map(([v, scan]) => [
      v,
      scan.accepted ? [...scan.ciphers].sort() : undefined,
    ]),
  );
}

/** The protocol-version and cipher rows of the check equal sslscan's for the same target. */
export async function assertAgreesWithSslscan(
  json: CheckJson,
  port: number,
  starttls: boolean,
): Promise<void> {
  const theirs = await sslscan(port, starttls);
  const sorted = Object.fromEntries(
    ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'].map((v) => [
      v,
      theirs[v] ? [...(theirs[v] ?? [])].sort() : undefined,
    ]),
  );
  assert.deepEqual(ourRows(json), sorted);
}
