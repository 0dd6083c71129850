// Value parsers for configuration settings, with PostgreSQL's spellings: booleans
// (on/off/true/false/yes/no/1/0 and unique prefixes), integers, and times with units.
// Each returns the parsed value or throws a message that names what was expected.

const BOOLEAN_WORDS: Array<[string, boolean]> = [
  ['on', true],
  ['off', false],
  ['true', true],
  ['false', false],
  ['yes', true],
  ['no', false],
  ['1', true],
  ['0', false],
];

export function parseBoolean(text: string): boolean {
  const lower = text.trim().toLowerCase();
  // PostgreSQL accepts unique prefixes of true/false/yes/no, but "o" alone is ambiguous.
  const candidates = BOOLEAN_WORDS.filter(([word]) =>
    lower.length >= (word.startsWith('o') ? 2 : 1) ? word.startsWith(lower) : false,
  );
  const values = new Set(candidates.map(([, value]) => value));
  const only = [...values][0];
  if (values.size !== 1 || only === undefined) {
    throw new Error('requires a Boolean value (on, off, true, false, yes, no, 1, 0)');
  }
  return only;
}

export function parseInteger(text: string, min: number, max: number): number {
  const trimmed = text.trim();
  const value = /^0[0-7]+$/.test(trimmed)
    ? Number.parseInt(trimmed, 8) // octal, as for unix_socket_permissions = 0777
    : /^[-+]?\d+$/.test(trimmed)
      ? Number(trimmed)
      : Number.NaN;
  if (!Number.isSafeInteger(value)) throw new Error('requires an integer value');
  if (value < min || value > max) {
    throw new Error(`${value} is outside the valid range (${min} .. ${max})`);
  }
  return value;
}

const TIME_UNITS_MS: Record<string, number> = {
  us: 0.001,
  ms: 1,
  s: 1000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** A duration in milliseconds; a bare number is in `defaultUnit`, as PostgreSQL does. */
export function parseDuration(
  text: string,
  defaultUnit: 'ms' | 's',
  minMs: number,
  maxMs: number,
): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/.exec(text);
  const unit = match?.[2] || defaultUnit;
  const factor = TIME_UNITS_MS[unit];
  if (!match || factor === undefined) {
    throw new Error(
      'requires a duration such as 30s, 500ms, 2min (valid units: us, ms, s, min, h, d)',
    );
  }
  const ms = Math.round(Number(match[1]) * factor);
  if (ms < minMs || ms > maxMs) {
    throw new Error(
      `${text.trim()} is outside the valid range (${formatMs(minMs)} .. ${formatMs(maxMs)})`,
    );
  }
  return ms;
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

export function parseEnum<T extends string>(text: string, allowed: readonly T[]): T {
  const found = allowed.find((value) => value.toLowerCase() === text.trim().toLowerCase());
  if (found === undefined) {
    throw new Error(`must be one of: ${allowed.map((v) => (v === '' ? "''" : v)).join(', ')}`);
  }
  return found;
}
