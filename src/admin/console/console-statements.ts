// Splits a simple Query's text into statements, as the admin console runs them: at semicolons
// outside quotes and comments, blank statements dropped, whitespace collapsed. Pure.

/** The statements of one Query message, in order. */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current = '';
  let i = 0;
  while (i < sql.length) {
    const char = sql[i] ?? '';
    const next = sql[i + 1] ?? '';
    if (char === "'" || char === '"') {
      const end = closingQuote(sql, i, char);
      current += sql.slice(i, end);
      i = end;
    } else if (char === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end;
      current += ' ';
    } else if (char === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? sql.length : end + 2;
      current += ' ';
    } else if (char === ';') {
      statements.push(current);
      current = '';
      i++;
    } else {
      current += char;
      i++;
    }
  }
  statements.push(current);
  return statements.map((text) => text.trim().replace(/\s+/g, ' ')).filter((text) => text !== '');
}

/** Index just past the quote closing the one at `start` (a doubled quote escapes it). */
function closingQuote(sql: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === quote) {
      if (sql[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return sql.length;
}
