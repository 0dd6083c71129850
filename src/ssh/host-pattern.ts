// OpenSSH host patterns, shared by known_hosts and ssh_config: `*` and `?` wildcards, `!` to
// exclude, case-insensitive (see ssh_config(5) PATTERNS and OpenSSH match.c).

/** Whether `name` matches one glob `pattern` (`*` any run, `?` one character). */
export function matchGlob(pattern: string, name: string): boolean {
  const p = pattern.toLowerCase();
  const s = name.toLowerCase();
  // Iterative glob with single backtrack point: linear enough for host names.
  let pi = 0;
  let si = 0;
  let starP = -1;
  let starS = 0;
  while (si < s.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === s[si])) {
      pi++;
      si++;
    } else if (pi < p.length && p[pi] === '*') {
      starP = pi++;
      starS = si;
    } else if (starP !== -1) {
      pi = starP + 1;
      si = ++starS;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

/**
 * Whether `name` matches a pattern list: true when some pattern matches and no `!pattern`
 * does. A matching negation wins over every positive match, as in OpenSSH.
 */
export function matchPatternList(patterns: readonly string[], name: string): boolean {
  let matched = false;
  for (const raw of patterns) {
    if (raw.startsWith('!')) {
      if (matchGlob(raw.slice(1), name)) return false;
    } else if (matchGlob(raw, name)) {
      matched = true;
    }
  }
  return matched;
}
