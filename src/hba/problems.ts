// The error raised when pg_hba.conf or pg_ident.conf has bad lines: every problem with its
// file:line, as PostgreSQL logs them all before refusing the file.
import { ConfigError } from '../errors.js';

/** One bad line (or a whole-file problem when `line` is undefined). */
export interface HbaProblem {
  /** ERR_HBA_SYNTAX: the line is wrong. ERR_HBA_UNSUPPORTED: valid, but not enforceable here. */
  readonly code: 'ERR_HBA_SYNTAX' | 'ERR_HBA_UNSUPPORTED';
  readonly file: string;
  readonly line: number | undefined;
  /** `file:line`, or `file` for whole-file problems. */
  readonly location: string;
  readonly message: string;
}

/** A non-fatal note about the files, e.g. a line that can never match. */
export interface HbaWarning {
  readonly location: string;
  readonly message: string;
}

export function problem(
  code: HbaProblem['code'],
  file: string,
  line: number | undefined,
  message: string,
): HbaProblem {
  return { code, file, line, location: line === undefined ? file : `${file}:${line}`, message };
}

/**
 * Thrown when a file has problems. `location` and `code` are those of the first problem;
 * `problems` lists them all, and the message has one line per problem.
 */
export class HbaConfigError extends ConfigError {
  readonly problems: readonly HbaProblem[];

  constructor(problems: readonly HbaProblem[]) {
    const first = problems[0];
    if (!first) throw new TypeError('HbaConfigError needs at least one problem');
    const more = problems.slice(1).map((p) => `\n${p.location}: ${p.message}`);
    super(first.code, `${first.message}${more.join('')}`, { location: first.location });
    this.problems = problems;
  }
}
