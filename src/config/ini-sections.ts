// The INI layout both sectioned files use (`pgtunnel connect --config`, the gateway's
// routes_file): `key = value` lines, `#` and `;` comments, and `[name]` sections, each name
// once. Lines only: what a key means is the caller's business. Pure; errors carry file:line.
import { ConfigError } from '../errors.js';

/** One `key = value` line; the value is the rest of the line, trimmed, as written. */
export interface IniEntry {
  key: string;
  value: string;
  location: string;
}

export interface IniSection {
  name: string;
  /** file:line of the `[name]` header. */
  location: string;
  entries: IniEntry[];
}

export interface IniFile {
  /** Entries before the first section. */
  global: IniEntry[];
  sections: IniSection[];
}

/**
 * Splits `text` (the contents of `fileName`) into global entries and sections. `kind` names a
 * section in messages ("tunnel", "route").
 *
 * @example
 * parseIniSections('pid = x\n[a]\nkey = 1\n', 'f.conf', 'tunnel')
 */
export function parseIniSections(text: string, fileName: string, kind: string): IniFile {
  const file: IniFile = { global: [], sections: [] };
  let current: IniSection | undefined;
  const names = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const location = `${fileName}:${index + 1}`;
    const line = (lines[index] ?? '').trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      const name = /^\[\s*([^\]]*?)\s*\]$/.exec(line)?.[1];
      if (!name) {
        throw new ConfigError('ERR_CONFIG_SYNTAX', `expected "[name]", got "${line}"`, {
          location,
        });
      }
      if (names.has(name)) {
        throw new ConfigError('ERR_CONFIG_CONFLICT', `${kind} [${name}] is defined twice`, {
          location,
        });
      }
      names.add(name);
      current = { name, location, entries: [] };
      file.sections.push(current);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) {
      throw new ConfigError('ERR_CONFIG_SYNTAX', `expected "key = value", got "${line}"`, {
        location,
      });
    }
    const entry = { key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim(), location };
    (current?.entries ?? file.global).push(entry);
  }
  return file;
}
