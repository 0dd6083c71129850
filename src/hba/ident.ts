// pg_ident.conf: parsing (PostgreSQL's parse_ident_line()) and the user-name map check
// (check_usermap() / check_ident_usermap() in src/backend/libpq/hba.c, PostgreSQL 18), used by
// `cert` rules to decide whether a certificate name may log in as a PostgreSQL user.

import type { FileSource } from '../config/file-source.js';
import { HbaConfigError, type HbaProblem, type HbaWarning, problem } from './problems.js';
import { compileNameToken } from './regex.js';
import { tokenizeAuthFile } from './tokenize.js';
import type { IdentLine, IdentMaps, NameToken } from './types.js';

/** Options for {@link parseIdent}. */
export interface ParseIdentOptions {
  /** Reads `@file` and include targets, relative to the including file. */
  reader?: FileSource | undefined;
  /** Receives non-fatal notes (skipped `include_if_exists`, ignored extra fields). */
  warnings?: HbaWarning[] | undefined;
}

/**
 * Parses pg_ident.conf text: `MAPNAME SYSTEM-USERNAME PG-USERNAME` per line. SYSTEM-USERNAME
 * may be a `/regex` whose first group replaces `\1` in PG-USERNAME; PG-USERNAME may be `all`
 * or a `/regex`. An empty file is valid (it maps nothing).
 *
 * @throws HbaConfigError listing every bad line.
 */
export function parseIdent(text: string, file: string, options: ParseIdentOptions = {}): IdentMaps {
  const warnings = options.warnings ?? [];
  const tokenized = tokenizeAuthFile(text, file, { reader: options.reader, warnings });
  const lines: IdentLine[] = [];
  const problems: HbaProblem[] = [];
  for (const tokLine of tokenized) {
    const syntax = (message: string) =>
      problems.push(problem('ERR_HBA_SYNTAX', tokLine.file, tokLine.line, message));
    if (tokLine.error !== undefined) {
      syntax(tokLine.error);
      continue;
    }
    const [mapField, systemField, pgField] = tokLine.fields;
    if (!mapField || !systemField || !pgField) {
      syntax('missing entry at end of line');
      continue;
    }
    if (mapField.length > 1 || systemField.length > 1 || pgField.length > 1) {
      syntax('multiple values in ident field');
      continue;
    }
    if (tokLine.fields.length > 3) {
      // PostgreSQL ignores them silently; say so, since they are almost surely a mistake.
      warnings.push({
        location: `${tokLine.file}:${tokLine.line}`,
        message: 'extra fields after PG-USERNAME are ignored',
      });
    }
    const pgToken = pgField[0] as NameToken;
    if (!pgToken.quoted && pgToken.text.startsWith('+')) {
      problems.push(
        problem(
          'ERR_HBA_UNSUPPORTED',
          tokLine.file,
          tokLine.line,
          `group membership ("${pgToken.text}") cannot be checked by pgtunnel: the gateway does ` +
            "not read PostgreSQL's role memberships; list the user names instead",
        ),
      );
      continue;
    }
    const systemUser = compileNameToken(systemField[0] as NameToken);
    if (typeof systemUser === 'string') {
      syntax(systemUser);
      continue;
    }
    const pgUser = compileNameToken(pgToken);
    if (typeof pgUser === 'string') {
      syntax(pgUser);
      continue;
    }
    lines.push({
      file: tokLine.file,
      line: tokLine.line,
      mapName: mapField[0]?.text ?? '',
      systemUser,
      pgUser,
    });
  }
  if (problems.length > 0) throw new HbaConfigError(problems);
  return { file, lines };
}

/** The outcome of a map check, with the lines PostgreSQL would log on failure. */
export interface UsermapResult {
  readonly ok: boolean;
  /** PostgreSQL's LOG messages for this check (empty on success). */
  readonly log: readonly string[];
}

/**
 * check_usermap(): may `systemUser` (a certificate CN or DN) log in as `pgUser`? Without a map
 * name the two must be equal. Comparisons are case-sensitive, as for certificates in PostgreSQL.
 */
export function checkUsermap(
  maps: IdentMaps | undefined,
  mapName: string | undefined,
  pgUser: string,
  systemUser: string,
): UsermapResult {
  if (mapName === undefined || mapName === '') {
    if (pgUser === systemUser) return { ok: true, log: [] };
    return {
      ok: false,
      log: [
        `provided user name (${pgUser}) and authenticated user name (${systemUser}) do not match`,
      ],
    };
  }
  for (const line of maps?.lines ?? []) {
    if (line.mapName !== mapName) continue;
    const result = checkIdentLine(line, pgUser, systemUser);
    if (result === true) return { ok: true, log: [] };
    if (typeof result === 'string') return { ok: false, log: [result] };
  }
  return {
    ok: false,
    log: [`no match in usermap "${mapName}" for user "${pgUser}" authenticated as "${systemUser}"`],
  };
}

/**
 * Does map `mapName` allow system user `systemName` to log in as `pgUser`?
 * @example identMapAllows(maps, 'certs', 'alice@example.com', 'alice')
 */
export function identMapAllows(
  maps: IdentMaps,
  mapName: string,
  systemName: string,
  pgUser: string,
): boolean {
  return checkUsermap(maps, mapName, pgUser, systemName).ok;
}

/** check_ident_usermap() for one line: true, false (no match), or an error that ends the search. */
function checkIdentLine(line: IdentLine, pgUser: string, systemUser: string): boolean | string {
  const system = line.systemUser;
  if (!system.regex) {
    return system.text === systemUser && roleMatches(line.pgUser, pgUser);
  }
  const match = system.regex.exec(systemUser);
  if (!match) return false;
  const target = line.pgUser;
  const backref = target.text.indexOf('\\1');
  if (target.regex || backref === -1) return roleMatches(target, pgUser);
  const group = match[1];
  if (group === undefined) {
    return (
      `regular expression "${system.text.slice(1)}" has no subexpressions as requested by ` +
      `backreference in "${target.text}"`
    );
  }
  // Only the first \1 is replaced, and the result is compared literally (PostgreSQL marks the
  // expanded token as quoted so that it cannot turn into a keyword such as "all").
  const expanded = target.text.slice(0, backref) + group + target.text.slice(backref + 2);
  return expanded === pgUser;
}

/** check_role() for a single PG-USERNAME token (group tokens were refused at load). */
function roleMatches(token: NameToken, pgUser: string): boolean {
  if (!token.quoted && token.text === 'all') return true;
  if (token.regex) return token.regex.test(pgUser);
  return token.text === pgUser;
}

/** Map names defined in `maps`, for checking `map=` options at load time. */
export function identMapNames(maps: IdentMaps): ReadonlySet<string> {
  return new Set(maps.lines.map((line) => line.mapName));
}
