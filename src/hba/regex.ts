// Compiles the `/regex` tokens of pg_hba.conf and pg_ident.conf. PostgreSQL uses its own
// "advanced" regular expressions (ARE); JavaScript's differ in places, so the few ARE forms that
// would silently mean something else here are translated or refused, never guessed.
import type { AuthToken } from './tokenize.js';
import type { NameToken } from './types.js';

/**
 * PostgreSQL's regcomp_auth_token(): a token whose text starts with `/` (quoted or not) is a
 * regular expression. Returns the token with `regex` set, or the error message.
 */
export function compileNameToken(token: AuthToken): NameToken | string {
  if (!token.text.startsWith('/')) return token;
  const pattern = token.text.slice(1);
  try {
    return { ...token, regex: compileAuthRegex(pattern) };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return `invalid regular expression "${pattern}": ${reason}`;
  }
}

/** POSIX bracket classes in PostgreSQL's C collation, as JavaScript class contents. */
const POSIX_CLASSES: Record<string, string> = {
  alpha: 'A-Za-z',
  digit: '0-9',
  alnum: '0-9A-Za-z',
  upper: 'A-Z',
  lower: 'a-z',
  space: ' \\t\\n\\r\\f\\v',
  blank: ' \\t',
  punct: '!-\\/:-@\\[-`{-~',
  xdigit: '0-9A-Fa-f',
  cntrl: '\\x00-\\x1f\\x7f',
  print: ' -~',
  graph: '!-~',
  word: '0-9A-Za-z_',
};

/**
 * Turns the text after the leading `/` into a RegExp, searching anywhere in the subject as
 * PostgreSQL's pg_regexec() does (anchor with `^` and `$` yourself).
 *
 * Handled: POSIX classes such as `[[:alpha:]]`, ARE's `\A` and `\Z`, and a leading `(?i)`.
 * Refused with an error: other embedded options, `***` directors, collating elements and any
 * escape JavaScript's unicode mode does not know (ARE's `\m`, `\M`, `\y`, `\Y`, ...).
 *
 * @throws Error with the reason, worded for `invalid regular expression "…": <reason>`.
 */
export function compileAuthRegex(pattern: string): RegExp {
  let source = pattern;
  let flags = 'u';
  if (source.startsWith('***')) {
    throw new Error('"***" directors are not supported; write the expression without them');
  }
  const options = /^\(\?([a-z]+)\)/.exec(source);
  if (options) {
    if (options[1] !== 'i') {
      throw new Error(`embedded options "(?${options[1]})" are not supported; only "(?i)" is`);
    }
    flags += 'i';
    source = source.slice(options[0].length);
  }
  if (/\[[.=]/.test(source)) {
    throw new Error('collating elements and equivalence classes ("[." and "[=") are not supported');
  }
  source = source.replace(/\[:([a-z]+):\]/g, (_, name: string) => {
    const replacement = POSIX_CLASSES[name];
    if (replacement === undefined) throw new Error(`unknown character class "[:${name}:]"`);
    return replacement;
  });
  // ARE's \A and \Z anchor at the start and end of the string, like ^ and $ without the m flag.
  source = source.replace(/(?<!\\)((?:\\\\)*)\\A/g, '$1^').replace(/(?<!\\)((?:\\\\)*)\\Z/g, '$1$');
  try {
    return new RegExp(source, flags);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // Node says "Invalid regular expression: /src/u: reason"; keep only the reason.
    throw new Error(message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, ''));
  }
}
