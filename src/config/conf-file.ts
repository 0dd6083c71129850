// Parses postgresql.conf syntax: `name = value` or `name value`, `#` comments, quoted strings
// with '' or \' escapes, and include / include_if_exists / include_dir directives. Pure apart
// from the injected file source; every entry keeps its file and line for error messages.
// Follows PostgreSQL's guc-file.l and the rules in "20.1. Setting Parameters".
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import type { FileSource } from './file-source.js';

export interface ConfEntry {
  name: string;
  value: string;
  file: string;
  line: number;
}

/** A path in a directive, relative to the file that names it (PostgreSQL's AbsoluteConfigLocation). */
function locate(fromFile: string, path: string): string {
  return isAbsolute(path) ? path : resolve(dirname(fromFile), path);
}

/** The file's text, or undefined when it does not exist; other failures are errors. */
function readIfExists(files: FileSource, path: string, location: string): string | undefined {
  try {
    return files.readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(
      'ERR_CONFIG_FILE',
      `could not open configuration file "${path}": ${(error as Error).message}`,
      { location, cause: error },
    );
  }
}

const MAX_INCLUDE_DEPTH = 10;

const NAME = /^[A-Za-z_][A-Za-z0-9_$.]*/;
const UNQUOTED_VALUE = /^[^\s#'"=]+/;

/** Parses `text` (the contents of `file`), following includes through `files`. */
export function parseConf(text: string, file: string, files: FileSource, depth = 0): ConfEntry[] {
  if (depth > MAX_INCLUDE_DEPTH) {
    throw new ConfigError(
      'ERR_CONFIG_SYNTAX',
      `could not open configuration file "${file}": maximum nesting depth exceeded`,
    );
  }
  const entries: ConfEntry[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((rawLine, index) => {
    const line = index + 1;
    const location = `${file}:${line}`;
    let rest = rawLine.trim();
    if (rest === '' || rest.startsWith('#')) return;
    const nameMatch = NAME.exec(rest);
    if (!nameMatch) {
      throw new ConfigError('ERR_CONFIG_SYNTAX', `syntax error near "${rest.slice(0, 20)}"`, {
        location,
      });
    }
    const name = nameMatch[0].toLowerCase();
    rest = rest.slice(nameMatch[0].length).trimStart();
    if (rest.startsWith('=')) rest = rest.slice(1).trimStart();
    const { value, remainder } = readValue(rest, location);
    const trailing = remainder.trim();
    if (trailing !== '' && !trailing.startsWith('#')) {
      throw new ConfigError('ERR_CONFIG_SYNTAX', `syntax error near "${trailing.slice(0, 20)}"`, {
        location,
      });
    }
    if (name === 'include' || name === 'include_if_exists') {
      const target = locate(file, value);
      const included = readIfExists(files, target, location);
      if (included === undefined) {
        if (name === 'include_if_exists') return;
        throw new ConfigError(
          'ERR_CONFIG_FILE',
          `could not open configuration file "${target}": No such file or directory`,
          { location },
        );
      }
      entries.push(...parseConf(included, target, files, depth + 1));
      return;
    }
    if (name === 'include_dir') {
      const dir = locate(file, value);
      let names: string[];
      try {
        names = files
          .listDir(dir)
          .filter((entry) => !entry.isDirectory)
          .map((entry) => entry.name);
      } catch (error) {
        throw new ConfigError(
          'ERR_CONFIG_FILE',
          `could not open configuration directory "${dir}"`,
          { location, cause: error },
        );
      }
      // PostgreSQL reads only *.conf files not starting with '.', in C-locale order.
      for (const entryName of names
        .filter((n) => n.endsWith('.conf') && !n.startsWith('.'))
        .sort()) {
        const target = join(dir, entryName);
        entries.push(
          ...parseConf(readIfExists(files, target, location) ?? '', target, files, depth + 1),
        );
      }
      return;
    }
    entries.push({ name, value, file, line });
  });
  return entries;
}

/** One value as postgresql.conf writes it, quoted or a bare word, and what follows it on the line. */
export function readValue(text: string, location: string): { value: string; remainder: string } {
  if (text.startsWith("'")) {
    let value = '';
    let i = 1;
    while (i < text.length) {
      const ch = text[i];
      if (ch === "'" && text[i + 1] === "'") {
        value += "'";
        i += 2;
      } else if (ch === "'") {
        return { value, remainder: text.slice(i + 1) };
      } else if (ch === '\\' && i + 1 < text.length) {
        const next = text[i + 1] ?? '';
        value += { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' }[next] ?? next;
        i += 2;
      } else {
        value += ch;
        i += 1;
      }
    }
    throw new ConfigError('ERR_CONFIG_SYNTAX', 'unterminated quoted string', { location });
  }
  const match = UNQUOTED_VALUE.exec(text);
  if (!match) {
    throw new ConfigError('ERR_CONFIG_SYNTAX', 'syntax error: a value is missing', { location });
  }
  return { value: match[0], remainder: text.slice(match[0].length) };
}
