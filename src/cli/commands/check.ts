// `pgtunnel check`: a PostgreSQL-aware TLS and security audit of one or more servers
// (PostgreSQL, pgtunnel serve, PgBouncer, stunnel …). Prints a report or JSON; the exit status
// says whether anything reached --fail-on, or whether a target could not be reached at all.
import type { Command } from 'commander';
import { type CheckTarget, checkTargetsFrom } from '../../check/check-target.js';
import {
  type Finding,
  isSeverity,
  type Severity,
  severityRank,
  worstSeverity,
} from '../../check/findings.js';
import { createLimit } from '../../check/limiter.js';
import { type CheckResult, type TargetResult, toJson, toText } from '../../check/report.js';
import { evaluate } from '../../check/rules.js';
import { checkTarget, TargetUnreachableError } from '../../check/run-check.js';
import { describeError, PgTunnelError } from '../../errors.js';
import { ExitCode, exitWithError } from '../exit.js';

/** Exit status when a target could not be reached or did not answer as PostgreSQL. */
export const EXIT_UNREACHABLE = 4;

interface CheckOptions {
  json?: boolean;
  failOn: string;
  timeout: string;
  concurrency: string;
  name: string[];
  verbose?: boolean;
  facts?: boolean;
}

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('Audit the TLS and security settings of PostgreSQL servers, gateways and poolers')
    .argument(
      '<target...>',
      'libpq connection strings or postgresql:// URIs (PG* variables and service files apply); give user= to also log in and check settings, pg_hba.conf, roles and sessions',
    )
    .option('--json', 'print JSON (schema in docs/check.md) instead of the report')
    .option(
      '--fail-on <severity>',
      'exit 1 when a finding is at least this severe: info, warn or fail',
      'fail',
    )
    .option('--timeout <seconds>', 'time limit of each probe (connection, handshake, answer)', '10')
    .option('--concurrency <n>', 'probes running at once', '8')
    .option(
      '--name <host>',
      'another host name the certificate must match (repeatable)',
      collect,
      [],
    )
    .option('-v, --verbose', 'list every accepted cipher suite in the report')
    .option('--facts', 'with --json: include the raw probe results')
    .addHelpText(
      'after',
      [
        '',
        'Exit status: 0 nothing at or above --fail-on, 1 something is, 2 usage error,',
        `             ${EXIT_UNREACHABLE} a target could not be reached or did not answer as PostgreSQL.`,
        '',
        'Examples:',
        '  pgtunnel check "host=db.example.com sslrootcert=root.crt"',
        '  pgtunnel check --json --fail-on warn "postgresql://monitor@db.example.com/postgres?sslmode=verify-full"',
      ].join('\n'),
    )
    .action((targets: string[], options: CheckOptions) =>
      runCheck(targets, options).catch(exitWithError),
    );
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function usage(message: string): PgTunnelError {
  return new PgTunnelError('ERR_USAGE', message);
}

function positive(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw usage(`${flag} must be a positive number, not "${text}"`);
  return value;
}

/** The progress line: only on a terminal, rewritten in place, erased at the end. */
function progressLine(enabled: boolean) {
  let done = 0;
  const write = (text: string) => {
    if (enabled) process.stderr.write(`\r\x1b[K${text}`);
  };
  return {
    probe(target: CheckTarget, phase: string) {
      done++;
      write(`checking ${target.label}: ${done} probe${done === 1 ? '' : 's'} done (${phase})`);
    },
    clear() {
      write('');
    },
  };
}

async function runCheck(texts: string[], options: CheckOptions): Promise<void> {
  const failOn = options.failOn;
  if (!isSeverity(failOn) || failOn === 'ok') {
    throw usage(`--fail-on must be info, warn or fail, not "${failOn}"`);
  }
  const timeoutMs = positive(options.timeout, '--timeout') * 1000;
  const concurrency = Math.floor(positive(options.concurrency, '--concurrency'));
  const targets = texts.flatMap((text) => checkTargetsFrom(text, { extraNames: options.name }));
  const limit = createLimit(concurrency);
  const progress = progressLine(process.stderr.isTTY === true);

  const results: TargetResult[] = await Promise.all(
    targets.map(async (target): Promise<TargetResult> => {
      try {
        const facts = await checkTarget(target, { timeoutMs, limit, onProbe: progress.probe });
        const findings: Finding[] = evaluate(facts);
        return { target: target.label, findings, ...(options.facts ? { facts } : {}) };
      } catch (error) {
        if (error instanceof TargetUnreachableError)
          return { target: target.label, error: error.message, findings: [] };
        return {
          target: target.label,
          error: `the check failed: ${describeError(error)}`,
          findings: [],
        };
      }
    }),
  );
  progress.clear();

  const worst: Severity = worstSeverity(results.flatMap((r) => r.findings));
  const exitStatus = results.some((r) => r.error !== undefined)
    ? EXIT_UNREACHABLE
    : severityRank(worst) >= severityRank(failOn)
      ? ExitCode.FAILURE
      : ExitCode.OK;
  const result: CheckResult = { targets: results, failOn, exitStatus };
  process.stdout.write(
    options.json ? toJson(result) : toText(result, { verbose: options.verbose ?? false }),
  );
  for (const r of results) {
    if (r.error !== undefined && !options.json)
      process.stderr.write(`pgtunnel: could not check ${r.target}: ${r.error}\n`);
  }
  process.exitCode = exitStatus;
}
