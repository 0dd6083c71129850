// The HTML status page at `/` of the admin endpoint: open sessions with their TLS details and
// client certificates, a breakdown by TLS version and cipher, certificate expiry, the reload
// history and a chart of refusals over the last hour. One self-contained document: inline CSS
// and SVG, no script, no external asset; a meta refresh reloads it. Pure: a model in, HTML out.
import type { RefusalBuckets } from './refusal-history.js';
import type { StatusDocument } from './status-document.js';

export interface StatusPageModel {
  status: StatusDocument;
  refusals: RefusalBuckets;
  /** Seconds between automatic reloads of the page. */
  refreshSeconds: number;
  now: Date;
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text made safe for HTML content and attribute values. */
export function escapeHtml(value: unknown): string {
  if (value === null || value === undefined) return '';
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function table(
  id: string,
  headers: readonly string[],
  rows: readonly (readonly unknown[])[],
  empty: string,
): string {
  if (rows.length === 0) return `<p class="empty" id="${id}-empty">${escapeHtml(empty)}</p>`;
  const head = headers.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('');
  const body = rows
    .map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table id="${id}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function sessionsSection(status: StatusDocument): string {
  const rows = status.sessions.map((s) => [
    s.client_port === null ? s.client_addr : `${s.client_addr}:${s.client_port}`,
    s.user,
    s.database,
    s.route,
    s.application_name,
    s.state,
    s.ssl ? s.version : 'no TLS',
    s.cipher,
    s.client_dn ?? (s.ssl ? 'no client certificate' : ''),
    s.client_serial,
    s.issuer_dn,
    s.client_cert_verified === null ? '' : s.client_cert_verified ? 'yes' : 'NO',
    s.backend_pid,
    s.backend_start,
    s.pid,
  ]);
  return `<h2>Open sessions (${status.sessions.length})</h2>\n<div class="wide">${table(
    'sessions',
    [
      'client',
      'user',
      'database',
      'route',
      'application',
      'state',
      'TLS',
      'cipher',
      'client certificate',
      'serial',
      'issuer',
      'verified',
      'backend pid',
      'since',
      'process',
    ],
    rows,
    'No open sessions.',
  )}</div>`;
}

function breakdownSection(status: StatusDocument): string {
  const counts = new Map<string, { version: string; cipher: string; count: number }>();
  for (const s of status.sessions) {
    const version = s.ssl ? (s.version ?? '?') : 'no TLS';
    const cipher = s.ssl ? (s.cipher ?? '?') : '';
    const key = `${version}\0${cipher}`;
    const entry = counts.get(key) ?? { version, cipher, count: 0 };
    entry.count += 1;
    counts.set(key, entry);
  }
  const rows = [...counts.values()]
    .sort((a, b) => b.count - a.count)
    .map((e) => [e.version, e.cipher, e.count]);
  return `<h2>Sessions by TLS version and cipher</h2>\n${table('tls-breakdown', ['TLS version', 'cipher', 'sessions'], rows, 'No open sessions.')}`;
}

function certificatesSection(status: StatusDocument): string {
  const rows = status.certificates.map((c) => [
    c.kind,
    c.subject,
    c.serial,
    c.file,
    c.not_after,
    c.days_left,
  ]);
  return `<h2>Certificates and CRLs</h2>\n${table('certificates', ['kind', 'subject / issuer', 'serial', 'file', 'not after / next update', 'days left'], rows, 'TLS is off: no certificate is served.')}`;
}

function reloadsSection(status: StatusDocument): string {
  const rows = [...status.reload_history]
    .reverse()
    .map((r) => [r.at, r.ok ? 'ok' : 'FAILED', r.error ?? '']);
  return `<h2>Reloads</h2>\n${table('reloads', ['at', 'result', 'error'], rows, `No reload since the start at ${status.started_at}.`)}`;
}

const CHART_COLORS = ['#c0392b', '#d35400', '#8e44ad', '#2c3e50', '#16a085', '#7f8c8d', '#b7950b'];

/** A stacked bar per minute; every bar has a <title> so a hover names the counts. */
function refusalChart(buckets: RefusalBuckets): string {
  const reasons = [...buckets.byReason.entries()].filter(([, values]) => values.some((v) => v > 0));
  const totals = buckets.starts.map((_, i) =>
    reasons.reduce((sum, [, values]) => sum + (values[i] ?? 0), 0),
  );
  const max = Math.max(1, ...totals);
  const width = 600;
  const height = 120;
  const barWidth = width / Math.max(1, buckets.starts.length);
  const bars: string[] = [];
  buckets.starts.forEach((start, i) => {
    let y = height;
    reasons.forEach(([reason, values], r) => {
      const value = values[i] ?? 0;
      if (value === 0) return;
      const h = (value / max) * (height - 10);
      y -= h;
      bars.push(
        `<rect x="${(i * barWidth).toFixed(1)}" y="${y.toFixed(1)}" width="${(barWidth - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${CHART_COLORS[r % CHART_COLORS.length]}"><title>${escapeHtml(`${start.toISOString().slice(11, 16)} UTC: ${value} ${reason}`)}</title></rect>`,
      );
    });
  });
  const legend = reasons
    .map(
      ([reason, values], r) =>
        `<tr><td><span class="swatch" style="background:${CHART_COLORS[r % CHART_COLORS.length]}"></span>${escapeHtml(reason)}</td><td>${values.reduce((a, b) => a + b, 0)}</td></tr>`,
    )
    .join('\n');
  const svg = `<svg id="refusal-chart" role="img" aria-label="refusals per minute over the last hour" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg"><rect width="${width}" height="${height}" fill="#f7f7f7"/>${bars.join('')}<text x="4" y="12" font-size="10">max ${max}/min</text><text x="4" y="${height - 3}" font-size="10">60 min ago</text><text x="${width - 4}" y="${height - 3}" font-size="10" text-anchor="end">now</text></svg>`;
  const summary =
    reasons.length === 0
      ? '<p class="empty" id="refusals-empty">No refusals in the last hour.</p>'
      : `<table id="refusals"><thead><tr><th scope="col">reason</th><th scope="col">last hour</th></tr></thead><tbody>\n${legend}\n</tbody></table>`;
  return `<h2>Refusals and failed handshakes, last hour (per minute)</h2>\n${svg}\n${summary}`;
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse;margin:.4em 0}th,td{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}
th{background:#eee}td{font-family:ui-monospace,monospace;font-size:12px}
.warning{background:#fff3cd;border:1px solid #e0a800;padding:.5em 1em;margin:.5em 0}
.wide{overflow-x:auto}.meta{color:#555}.empty{color:#777}.swatch{display:inline-block;width:.8em;height:.8em;margin-right:.4em}`;

export function renderStatusPage(model: StatusPageModel): string {
  const { status } = model;
  const warnings = status.warnings
    .map((w) => `<p class="warning" role="alert">${escapeHtml(w)}</p>`)
    .join('\n');
  const lastReload = status.last_reload
    ? `${status.last_reload.at} (${status.last_reload.ok ? 'ok' : 'failed'})`
    : 'none';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="${model.refreshSeconds}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pgtunnel serve — status</title>
<style>${STYLE}</style>
</head>
<body>
<h1>pgtunnel serve</h1>
<p class="meta" id="summary">State <strong id="state">${escapeHtml(status.state)}</strong> · started ${escapeHtml(status.started_at)} · pid ${status.pid} · workers ${status.workers} · listening on ${escapeHtml(status.listen_addresses.join(', '))} · last reload ${escapeHtml(lastReload)} · page generated ${escapeHtml(model.now.toISOString())}, refreshes every ${model.refreshSeconds} s</p>
${warnings}
${sessionsSection(status)}
${breakdownSection(status)}
${certificatesSection(status)}
${refusalChart(model.refusals)}
${reloadsSection(status)}
<p class="meta">Also: <a href="/status">/status</a> (JSON) · <a href="/metrics">/metrics</a> (Prometheus) · <a href="/health">/health</a></p>
</body>
</html>
`;
}
