// Reads the Prometheus text exposition this endpoint serves back into series, so the status
// page shows what /metrics says (in-process and summed over workers alike). Pure.

/** One sample: metric name, labels and value. */
export interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Every sample line of a text exposition (comments and blank lines skipped). */
export function parseExposition(text: string): Series[] {
  const series: Series[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.lastIndexOf(' ');
    if (space === -1) continue;
    const value = Number(line.slice(space + 1));
    if (brace === -1 || brace > space) {
      series.push({ name: line.slice(0, space), labels: {}, value });
      continue;
    }
    const end = line.lastIndexOf('}', space);
    series.push({
      name: line.slice(0, brace),
      labels: parseLabels(line.slice(brace + 1, end)),
      value,
    });
  }
  return series;
}

/** `a="x",b="y \"q\""` → { a: 'x', b: 'y "q"' }, with the format's escapes (\\, \", \n). */
function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const pattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const match of text.matchAll(pattern)) {
    const [, name, raw] = match;
    if (name === undefined || raw === undefined) continue;
    labels[name] = raw.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}
