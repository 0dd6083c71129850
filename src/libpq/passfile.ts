// libpq's password file (~/.pgpass, PGPASSFILE, passfile=): `host:port:database:user:password`
// lines, `*` matching anything, backslash escaping `:` and `\`, first match wins, as
// passwordFromFile() in libpq's fe-connect.c. Pure: the caller reads the file.

/** What a line is matched against. */
export interface PassfileKey {
  /**
   * The host as given (or hostaddr when no host): `localhost` matches an empty host and
   * libpq's default socket directory.
   */
  host: string;
  port: number;
  database: string;
  user: string;
}

/** Consumes one field of `line` from `offset` if it matches `value`; returns the next offset. */
function matchField(line: string, offset: number, value: string): number | undefined {
  if (line[offset] === '*' && line[offset + 1] === ':') return offset + 2;
  let i = offset;
  let j = 0;
  while (i < line.length && line[i] !== ':') {
    if (line[i] === '\\' && i + 1 < line.length) i++;
    if (line[i] !== value[j]) return undefined;
    i++;
    j++;
  }
  return line[i] === ':' && j === value.length ? i + 1 : undefined;
}

/** The password field: backslash escapes removed, ending at an unescaped `:` as in libpq. */
function passwordField(text: string): string {
  let out = '';
  for (let i = 0; i < text.length && text[i] !== ':'; i++) {
    if (text[i] === '\\' && i + 1 < text.length) i++;
    out += text[i];
  }
  return out;
}

/**
 * The password for `key` in password-file text, or undefined. `defaultSocketDirectory` is
 * the directory libpq was built with, which counts as `localhost`.
 */
export function passwordFromPassfile(
  text: string,
  key: PassfileKey,
  defaultSocketDirectory: string,
): string | undefined {
  const host = key.host === '' || key.host === defaultSocketDirectory ? 'localhost' : key.host;
  const fields = [host, String(key.port), key.database, key.user];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith('#') || line === '') continue;
    let offset: number | undefined = 0;
    for (const value of fields) {
      offset = matchField(line, offset, value);
      if (offset === undefined) break;
    }
    if (offset !== undefined) return passwordField(line.slice(offset));
  }
  return undefined;
}
