// Reads pg_hba.conf and pg_ident.conf from disk (with their includes) and checks that every
// map= a rule names exists, through an injected FileSource; parsing and matching stay pure.
import { diskFiles, type FileSource } from '../config/file-source.js';
import { ConfigError } from '../errors.js';
import { identMapNames, parseIdent } from './ident.js';
import { parseHba } from './parse.js';
import { HbaConfigError, type HbaProblem, type HbaWarning, problem } from './problems.js';
import { checkTlsRequirements, type TlsCapabilities } from './tls-requirements.js';
import { strerror } from './tokenize.js';
import type { HbaRule, IdentMaps } from './types.js';

/** A loaded, validated pair of files, ready for matchHba() and authorize(). */
export interface LoadedHba {
  readonly rules: readonly HbaRule[];
  /** Undefined when no pg_ident.conf was configured. */
  readonly identMaps: IdentMaps | undefined;
  /** Non-fatal notes to log once after loading. */
  readonly warnings: readonly HbaWarning[];
}

/**
 * Loads pg_hba.conf and, if given, pg_ident.conf. Both must be valid as a whole; nothing is
 * returned for a partly valid file, so a reload can keep the previous rules on failure.
 *
 * With `tls`, rules are also checked against the server's TLS settings (a `cert` rule needs
 * ssl_ca_file). `files` reads both files and everything they include; the gateway passes one
 * that records them (file-source.ts), so the files to watch come from the same load.
 *
 * @throws ConfigError (ERR_CONFIG_FILE) when a top-level file cannot be read, or
 *   HbaConfigError (ERR_HBA_SYNTAX / ERR_HBA_UNSUPPORTED) listing every bad line as file:line.
 */
export async function loadHba(
  hbaPath: string,
  identPath?: string,
  tls?: TlsCapabilities,
  files: FileSource = diskFiles,
): Promise<LoadedHba> {
  const hbaText = readTopLevel(hbaPath, files);
  const identText = identPath === undefined ? undefined : readTopLevel(identPath, files);
  const warnings: HbaWarning[] = [];
  const problems: HbaProblem[] = [];

  let rules: readonly HbaRule[] = [];
  try {
    const parsed = parseHba(hbaText, hbaPath, { reader: files });
    rules = parsed.rules;
    warnings.push(...parsed.warnings);
  } catch (error) {
    if (!(error instanceof HbaConfigError)) throw error;
    problems.push(...error.problems);
  }

  let identMaps: IdentMaps | undefined;
  if (identPath !== undefined && identText !== undefined) {
    try {
      identMaps = parseIdent(identText, identPath, { reader: files, warnings });
    } catch (error) {
      if (!(error instanceof HbaConfigError)) throw error;
      problems.push(...error.problems);
    }
  }

  // Only cross-check maps when both files parsed, or every map= would look undefined.
  if (problems.length === 0) problems.push(...checkRuleMaps(rules, identMaps));
  if (tls) {
    const checked = checkTlsRequirements(rules, tls);
    problems.push(...checked.problems);
    warnings.push(...checked.warnings);
  }
  if (problems.length > 0) throw new HbaConfigError(problems);
  return { rules, identMaps, warnings };
}

/**
 * Every `map=` must name a map defined in pg_ident.conf. PostgreSQL only notices a missing map
 * when a client fails to log in; the gateway refuses the configuration instead.
 */
export function checkRuleMaps(
  rules: readonly HbaRule[],
  identMaps: IdentMaps | undefined,
): HbaProblem[] {
  const names = identMaps ? identMapNames(identMaps) : new Set<string>();
  const problems: HbaProblem[] = [];
  for (const rule of rules) {
    if (rule.map === undefined || names.has(rule.map)) continue;
    problems.push(
      problem(
        'ERR_HBA_SYNTAX',
        rule.file,
        rule.line,
        identMaps
          ? `map "${rule.map}" is not defined in "${identMaps.file}"`
          : `map "${rule.map}" needs a pg_ident.conf, and none is configured`,
      ),
    );
  }
  return problems;
}

function readTopLevel(path: string, files: FileSource): string {
  try {
    return files.readFile(path);
  } catch (cause) {
    throw new ConfigError('ERR_CONFIG_FILE', `could not open file "${path}": ${strerror(cause)}`, {
      location: path,
      cause,
    });
  }
}
