// Parses postgresql.conf syntax: `name = value` or `name value`, `#` comments, quoted strings
// with '' or \' escapes, and include / include_if_exists / include_dir directives. Pure apart
// from the injected file reader; every entry keeps its file and line for error messages.
// Follows PostgreSQL's guc-file.l and the rules in "20.1. Setting Parameters".
import { ConfigError } from '../errors.js';

export interface ConfEntry {
  name: string;
  value: string;
  file: string;
  line: number;
}

/** File access the parser needs, injected so parsing stays pure and testable. */
export interface ConfReader {
  readFile(path: string): string | undefined;
  listDir(path: string): string[] | undefined;
  resolve(fromFile: string, path: string): string;
}

const MAX_INCLUDE_DEPTH = 10;

const NAME = /^[A-Za-z_][A-Za-z0-9_$.]*/;
const UNQUOTED_VALUE = /^[^\s#'"=]+/;

/** Parses `text` (the contents of `file`), following includes through `reader`. */
export function parseConf(text: string, file: string, reader: ConfReader, depth = 0): ConfEntry[] {
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
      const target = reader.resolve(file, value);
      const included = reader.readFile(target);
      if (included === undefined) {
        if (name === 'include_if_exists') return;
        throw new ConfigError(
          'ERR_CONFIG_FILE',
          `could not open configuration file "${target}": No such file or directory`,
          { location },
        );
      }
      entries.push(...parseConf(included, target, reader, depth + 1));
      return;
    }
    if (name === 'include_dir') {
      const dir = reader.resolve(file, value);
      const names = reader.listDir(dir);
      if (names === undefined) {
        throw new ConfigError(
          'ERR_CONFIG_FILE',
          `could not open configuration directory "${dir}"`,
          { location },
        );
      }
      // PostgreSQL reads only *.conf files not starting with '.', in C-locale order.
      for (const entryName of names
        .filter((n) => n.endsWith('.conf') && !n.startsWith('.'))
        .sort()) {
        const target = reader.resolve(`${dir}/`, entryName);
        entries.push(...parseConf(reader.readFile(target) ?? '', target, reader, depth + 1));
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
