// Splits pg_hba.conf / pg_ident.conf text into lines of fields of tokens, the way PostgreSQL's
// tokenize_auth_file() does (src/backend/libpq/hba.c, PostgreSQL 16+): backslash continuations,
// `#` comments, double quotes, comma lists, `@file` expansion and include directives.
import { dirname, isAbsolute, join } from 'node:path';
import type { DirEntry, FileSource } from '../config/file-source.js';

/** One word of a configuration line, as PostgreSQL's AuthToken. */
export interface AuthToken {
  /** The text with quotes removed (`""` inside quotes is one `"`). */
  readonly text: string;
  /**
   * True when the token began with a double quote. A quoted `"all"` is a name, not the keyword;
   * like PostgreSQL, only the opening quote counts (`al"l"` is still the keyword).
   */
  readonly quoted: boolean;
}

/** A non-empty line after tokenizing, or a line whose tokenizing failed (`error` set). */
export interface TokenizedLine {
  /** The file the line came from (included files keep their own name). */
  readonly file: string;
  /** 1-based number of the line's first physical line in `file`. */
  readonly line: number;
  /** The logical line after joining continuations, without the line break. */
  readonly rawLine: string;
  /** Fields separated by blanks; each field is a comma list of tokens. */
  readonly fields: readonly (readonly AuthToken[])[];
  /** Set when an include or `@file` on this line failed; the message is PostgreSQL's. */
  readonly error?: string;
}

/** Something worth logging that does not stop the file from loading. */
export interface TokenizeWarning {
  readonly location: string;
  readonly message: string;
}

/** PostgreSQL's CONF_FILE_MAX_DEPTH: includes nested deeper than this are refused. */
const MAX_INCLUDE_DEPTH = 10;

/** Options for {@link tokenizeAuthFile}. */
export interface TokenizeOptions {
  /** Reads `@file`, `include`, `include_if_exists` and `include_dir` targets. */
  reader?: FileSource | undefined;
  /** Receives non-fatal notes, e.g. a skipped `include_if_exists`. */
  warnings?: TokenizeWarning[] | undefined;
}

/**
 * Tokenizes a whole file. Include directives are replaced by the lines of the included files
 * (each keeping its own file name and line numbers); `@file` tokens are replaced by every token
 * of that file. Lines that fail keep their place with `error` set, so the caller can report all
 * problems at once, as PostgreSQL does.
 */
export function tokenizeAuthFile(
  text: string,
  file: string,
  options: TokenizeOptions = {},
): TokenizedLine[] {
  const out: TokenizedLine[] = [];
  tokenizeInto(text, file, options, 0, out);
  return out;
}

function tokenizeInto(
  text: string,
  file: string,
  options: TokenizeOptions,
  depth: number,
  out: TokenizedLine[],
): void {
  const physical = text.split('\n');
  // A final newline does not start another line.
  if (physical.length > 0 && physical[physical.length - 1] === '') physical.pop();

  let index = 0;
  while (index < physical.length) {
    const lineNumber = index + 1;
    // Join backslash continuations first: a continuation inside quotes or a comment therefore
    // carries on into the next line, exactly as PostgreSQL documents. No blank is inserted.
    let buf = stripCrLf(physical[index] ?? '');
    index++;
    let lastBackslashLength = 0;
    while (buf.length > lastBackslashLength && buf.endsWith('\\')) {
      buf = buf.slice(0, -1);
      lastBackslashLength = buf.length;
      if (index >= physical.length) break;
      buf += stripCrLf(physical[index] ?? '');
      index++;
    }

    const { fields, error } = splitFields(buf, file, options, depth);
    if (fields.length === 0 && error === undefined) continue;

    if (error === undefined && fields.length === 2) {
      const directive = fields[0]?.[0]?.text;
      const target = fields[1]?.[0]?.text ?? '';
      const handled = includeDirective(directive, target, file, lineNumber, options, depth, out);
      if (handled === true) continue;
      if (typeof handled === 'string') {
        out.push({ file, line: lineNumber, rawLine: buf, fields, error: handled });
        continue;
      }
    }
    out.push(
      error === undefined
        ? { file, line: lineNumber, rawLine: buf, fields }
        : { file, line: lineNumber, rawLine: buf, fields, error },
    );
  }
}

/**
 * Handles `include`, `include_if_exists` and `include_dir` lines. Returns false when the line
 * is not a directive, true when it was handled, or an error message for the including line.
 * Like PostgreSQL, the directive word is compared without regard to quoting.
 */
function includeDirective(
  directive: string | undefined,
  target: string,
  file: string,
  line: number,
  options: TokenizeOptions,
  depth: number,
  out: TokenizedLine[],
): boolean | string {
  if (directive === 'include' || directive === 'include_if_exists') {
    const path = absoluteConfigLocation(target, file);
    const read = openAuthFile(path, options.reader, depth + 1);
    if (typeof read !== 'string') {
      if (directive === 'include_if_exists' && read.code === 'ENOENT') {
        options.warnings?.push({
          location: `${file}:${line}`,
          message: `skipping missing authentication file "${path}"`,
        });
        return true;
      }
      return read.message;
    }
    tokenizeInto(read, path, options, depth + 1, out);
    return true;
  }
  if (directive === 'include_dir') {
    const listed = confFilesInDir(target, file, options.reader);
    if (typeof listed === 'string') return listed;
    const errors: string[] = [];
    for (const path of listed) {
      const read = openAuthFile(path, options.reader, depth + 1);
      if (typeof read === 'string') tokenizeInto(read, path, options, depth + 1, out);
      else errors.push(read.message);
    }
    return errors.length === 0 ? true : errors.join('\n');
  }
  return false;
}

/** PostgreSQL's GetConfFilesInDir(): `*.conf` files not starting with `.`, in byte order. */
function confFilesInDir(
  target: string,
  file: string,
  reader: FileSource | undefined,
): string[] | string {
  if (/^[ \t\r\n]*$/.test(target)) return 'empty configuration directory name';
  const directory = absoluteConfigLocation(target, file);
  let entries: DirEntry[];
  try {
    if (!reader) throw Object.assign(new Error('no reader'), { code: 'ENOREADER' });
    entries = reader.listDir(directory);
  } catch {
    return `could not open directory "${directory}"`;
  }
  return entries
    .filter((e) => e.name.length >= 6 && !e.name.startsWith('.') && e.name.endsWith('.conf'))
    .filter((e) => !e.isDirectory)
    .map((e) => join(directory, e.name))
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** PostgreSQL's AbsoluteConfigLocation(): relative paths are relative to the including file. */
export function absoluteConfigLocation(location: string, callingFile: string): string {
  if (isAbsolute(location)) return location;
  return join(dirname(callingFile), location);
}

interface OpenFailure {
  code: string | undefined;
  message: string;
}

/** PostgreSQL's open_auth_file(): the depth check, then the read. */
function openAuthFile(
  path: string,
  reader: FileSource | undefined,
  depth: number,
): string | OpenFailure {
  if (depth > MAX_INCLUDE_DEPTH) {
    return {
      code: undefined,
      message: `could not open file "${path}": maximum nesting depth exceeded`,
    };
  }
  if (!reader) {
    return {
      code: undefined,
      message: `could not open file "${path}": included files cannot be read here`,
    };
  }
  try {
    return reader.readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { code, message: `could not open file "${path}": ${strerror(error)}` };
  }
}

/** The C library's wording for the usual errors, so messages read like PostgreSQL's `%m`. */
export function strerror(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'No such file or directory';
    case 'EACCES':
      return 'Permission denied';
    case 'EISDIR':
      return 'Is a directory';
    case 'ENOTDIR':
      return 'Not a directory';
    case 'ELOOP':
      return 'Too many levels of symbolic links';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}

/** pg_strip_crlf(): removes every trailing CR and LF. */
function stripCrLf(line: string): string {
  let end = line.length;
  while (end > 0 && (line[end - 1] === '\n' || line[end - 1] === '\r')) end--;
  return line.slice(0, end);
}

/** pg_isblank(): space, tab and carriage return separate tokens. */
function isBlank(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\r';
}

interface SplitResult {
  fields: AuthToken[][];
  error: string | undefined;
}

/** The field loop of tokenize_auth_file(): fields until end of line, comment or error. */
function splitFields(
  line: string,
  file: string,
  options: TokenizeOptions,
  depth: number,
): SplitResult {
  const fields: AuthToken[][] = [];
  const cursor = { pos: 0 };
  let error: string | undefined;
  while (cursor.pos < line.length && error === undefined) {
    const field: AuthToken[] = [];
    // next_field_expand(): tokens joined by commas form one field.
    for (;;) {
      const token = nextToken(line, cursor);
      if (!token) break;
      if (!token.initialQuote && token.text.length > 1 && token.text.startsWith('@')) {
        const expanded = expandFile(token.text.slice(1), file, options, depth + 1);
        if (typeof expanded === 'string') error = expanded;
        else field.push(...expanded);
      } else {
        field.push({ text: token.text, quoted: token.initialQuote });
      }
      if (!token.terminatingComma || error !== undefined) break;
    }
    if (field.length > 0) fields.push(field);
  }
  return { fields, error };
}

/** tokenize_expand_file(): every token of every line of an `@file`, flattened. */
function expandFile(
  target: string,
  file: string,
  options: TokenizeOptions,
  depth: number,
): AuthToken[] | string {
  const path = absoluteConfigLocation(target, file);
  const read = openAuthFile(path, options.reader, depth);
  if (typeof read !== 'string') return read.message;
  const lines: TokenizedLine[] = [];
  tokenizeInto(read, path, options, depth, lines);
  const tokens: AuthToken[] = [];
  for (const line of lines) {
    if (line.error !== undefined) return line.error;
    for (const field of line.fields) tokens.push(...field);
  }
  return tokens;
}

interface RawToken {
  text: string;
  initialQuote: boolean;
  terminatingComma: boolean;
}

/**
 * next_token(): skips blanks and commas, then reads up to an unquoted blank, comma or `#`.
 * Returns undefined when the line has no more tokens. An unterminated quote runs to the end
 * of the line, as in PostgreSQL.
 */
function nextToken(line: string, cursor: { pos: number }): RawToken | undefined {
  let pos = cursor.pos;
  while (pos < line.length && (isBlank(line[pos]) || line[pos] === ',')) pos++;

  let text = '';
  let inQuote = false;
  let wasQuote = false;
  let sawQuote = false;
  let initialQuote = false;
  let terminatingComma = false;

  while (pos < line.length) {
    const c = line[pos] as string;
    if (isBlank(c) && !inQuote) break;
    if (c === '#' && !inQuote) {
      pos = line.length;
      break;
    }
    if (c === ',' && !inQuote) {
      terminatingComma = true;
      break;
    }
    if (c !== '"' || wasQuote) text += c;
    // A literal double quote is written as two double quotes.
    wasQuote = inQuote && c === '"' ? !wasQuote : false;
    if (c === '"') {
      inQuote = !inQuote;
      sawQuote = true;
      if (text.length === 0) initialQuote = true;
    }
    pos++;
  }
  cursor.pos = pos;
  // Leading commas were skipped, so an empty unquoted token means end of line or a comment.
  if (!sawQuote && text.length === 0) return undefined;
  return { text, initialQuote, terminatingComma };
}
