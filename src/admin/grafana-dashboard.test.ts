// etc/grafana-dashboard.json is built on the exported metrics only: every metric a panel
// queries is declared in metric-names.ts (so a rename breaks this test, not a dashboard), and
// the certificate, refusal and handshake metrics all have a panel.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { METRICS } from './metric-names.js';

interface Panel {
  title: string;
  targets?: Array<{ expr: string }>;
}

const dashboard = JSON.parse(readFileSync('etc/grafana-dashboard.json', 'utf8')) as {
  title: string;
  uid: string;
  panels: Panel[];
};
const declared = new Set<string>(Object.values(METRICS).map((spec) => spec.name));
const queried = dashboard.panels.flatMap((panel) =>
  (panel.targets ?? []).flatMap((target) => target.expr.match(/\bpgtunnel_[a-z_]+/g) ?? []),
);

describe('etc/grafana-dashboard.json', () => {
  it('queries only declared metrics', () => {
    assert.ok(queried.length > 10, `found only ${queried.join(', ')}`);
    for (const name of queried) assert.ok(declared.has(name), `${name} is not in metric-names.ts`);
  });

  it('shows certificate expiry, refusals and handshake failures', () => {
    for (const spec of [
      METRICS.serverCertificateNotAfter,
      METRICS.caCertificateNotAfter,
      METRICS.crlNextUpdate,
      METRICS.connectionsRefused,
      METRICS.tlsHandshakeFailures,
      METRICS.sessionsActive,
    ]) {
      assert.ok(queried.includes(spec.name), `no panel queries ${spec.name}`);
    }
  });

  it('every panel has a title and a Prometheus query; panel ids are unique', () => {
    const ids = new Set<number>();
    for (const panel of dashboard.panels as Array<Panel & { id: number }>) {
      assert.ok(panel.title, 'a panel without a title');
      assert.ok((panel.targets ?? []).length > 0, `${panel.title} has no query`);
      assert.ok(!ids.has(panel.id), `duplicate panel id ${panel.id}`);
      ids.add(panel.id);
    }
  });
});
