// Reads pg_hba.conf and pg_ident.conf from disk (with their includes) and checks that every
// map= a rule names exists. The only file I/O of src/hba; parsing and matching stay pure.
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors.js';
import { identMapNames, parseIdent } from './ident.js';
import { parseHba } from './parse.js';
import { HbaConfigError, type HbaProblem, type HbaWarning, problem } from './problems.js';
import { checkTlsRequirements, type TlsCapabilities } from './tls-requirements.js';
import { type ConfigReader, strerror, tokenizeAuthFile } from './tokenize.js';
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
 * Reads included files from disk. Synchronous on purpose: includes are small, are read only at
 * load and reload, and a synchronous reader keeps the parser pure and simple to test.
 */
export const fileSystemReader: ConfigReader = {
  readFile: (path) => readFileSync(path, 'utf8'),
  listDir: (path) =>
    readdirSync(path, { withFileTypes: true }).map((entry) => ({
      name: entry.name,
      isDirectory: entry.isDirectory(),
    })),
};

/**
 * Loads pg_hba.conf and, if given, pg_ident.conf. Both must be valid as a whole; nothing is
 * returned for a partly valid file, so a reload can keep the previous rules on failure.
 *
 * With `tls`, rules are also checked against the server's TLS settings (a `cert` rule needs
 * ssl_ca_file). `reader` reads the included files; the gateway passes one that records them,
 * so the files to watch come from the same load.
 *
 * @throws ConfigError (ERR_CONFIG_FILE) when a top-level file cannot be read, or
 *   HbaConfigError (ERR_HBA_SYNTAX / ERR_HBA_UNSUPPORTED) listing every bad line as file:line.
 */
export async function loadHba(
  hbaPath: string,
  identPath?: string,
  tls?: TlsCapabilities,
  reader: ConfigReader = fileSystemReader,
): Promise<LoadedHba> {
  const hbaText = await readTopLevel(hbaPath);
  const identText = identPath === undefined ? undefined : await readTopLevel(identPath);
  const warnings: HbaWarning[] = [];
  const problems: HbaProblem[] = [];

  let rules: readonly HbaRule[] = [];
  try {
    const parsed = parseHba(hbaText, hbaPath, { reader });
    rules = parsed.rules;
    warnings.push(...parsed.warnings);
  } catch (error) {
    if (!(error instanceof HbaConfigError)) throw error;
    problems.push(...error.problems);
  }

  let identMaps: IdentMaps | undefined;
  if (identPath !== undefined && identText !== undefined) {
    try {
      identMaps = parseIdent(identText, identPath, { reader, warnings });
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

/** The files and directories a pair of auth files is read from, for watching them. */
export interface AuthFileSources {
  /** The files themselves and every `@file`, `include` and `include_if_exists` target. */
  readonly files: readonly string[];
  /** Directories named by `include_dir`. */
  readonly directories: readonly string[];
}

/**
 * Every file pg_hba.conf and pg_ident.conf pull in, found by tokenizing them. Never throws:
 * what cannot be read is still listed (a missing include may appear later), and a broken file
 * is reported by the load, not here.
 */
export function authFileSources(hbaPath: string, identPath?: string): AuthFileSources {
  const files = new Set<string>();
  const directories = new Set<string>();
  const recording: ConfigReader = {
    readFile(path) {
      files.add(path);
      return fileSystemReader.readFile(path);
    },
    listDir(path) {
      directories.add(path);
      return fileSystemReader.listDir(path);
    },
  };
  for (const path of identPath === undefined ? [hbaPath] : [hbaPath, identPath]) {
    try {
      tokenizeAuthFile(recording.readFile(path), path, { reader: recording });
    } catch {
      // unreadable top-level file: listed, so that its reappearance is noticed
    }
  }
  return { files: [...files], directories: [...directories] };
}

async function readTopLevel(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new ConfigError('ERR_CONFIG_FILE', `could not open file "${path}": ${strerror(cause)}`, {
      location: path,
      cause,
    });
  }
}
