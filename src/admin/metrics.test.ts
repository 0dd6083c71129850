// The metric table is public API: docs/metrics.md must list every metric and refusal reason,
// every reason the gateway reports must be in the table, and GatewayMetrics must export the
// events under those names (through a real prom-client registry).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import type { CertificateEntry } from '../tls/certificate-inventory.js';
import { HANDSHAKE_FAILURE_REASONS, METRICS, REFUSAL_REASONS } from './metric-names.js';
import { GatewayMetrics, ReloadMetrics } from './metrics.js';

const docs = readFileSync('docs/metrics.md', 'utf8');

describe('metric names', () => {
  it('docs/metrics.md lists every metric with its type and labels', () => {
    for (const spec of Object.values(METRICS)) {
      const row = docs.split('\n').find((line) => line.startsWith(`| \`${spec.name}\` |`));
      assert.ok(row, `${spec.name} has no row in docs/metrics.md`);
      assert.ok(row.includes(`| ${spec.type} |`), `${spec.name} is documented as a ${spec.type}`);
      for (const label of spec.labels)
        assert.ok(row.includes(`\`${label}\``), `${spec.name}: label ${label}`);
    }
    const documented = [...docs.matchAll(/^\| `(pgtunnel_[a-z_]+)` \|/gm)].map((m) => m[1]);
    const declared = Object.values(METRICS).map((spec) => spec.name);
    assert.deepEqual(documented.sort(), declared.sort(), 'the documentation lists no other metric');
  });

  it('docs/metrics.md lists every refusal reason', () => {
    for (const reason of Object.keys(REFUSAL_REASONS)) {
      assert.match(docs, new RegExp(`^\\| \`${reason}\` \\|`, 'm'), reason);
    }
  });

  it('docs/metrics.md lists every TLS handshake failure reason', () => {
    for (const reason of Object.keys(HANDSHAKE_FAILURE_REASONS)) {
      assert.match(docs, new RegExp(`^\\| \`${reason}\` \\|`, 'm'), reason);
    }
  });

  it('every refusal reason the gateway reports is declared', () => {
    const reported = new Set<string>();
    for (const file of readdirSync('src/gateway', { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts')) continue;
      const text = readFileSync(`src/gateway/${file}`, 'utf8');
      for (const match of text.matchAll(/connectionRefused\(\s*'([^']+)'\s*\)/g)) {
        if (match[1]) reported.add(match[1]);
      }
    }
    assert.ok(reported.size >= 4, `found only ${[...reported].join(', ')}`);
    for (const reason of reported)
      assert.ok(reason in REFUSAL_REASONS, `undeclared reason ${reason}`);
  });

  it('names follow Prometheus conventions', () => {
    for (const spec of Object.values(METRICS)) {
      assert.match(spec.name, /^pgtunnel_[a-z_]+$/);
      assert.equal(spec.name.endsWith('_total'), spec.type === 'counter', spec.name);
    }
  });
});

describe('GatewayMetrics and ReloadMetrics', () => {
  it('count sessions by route when routes are configured, and only then', async () => {
    const registry = new Registry();
    const events = new GatewayMetrics(registry);
    events.sessionStarted(true, 'orders');
    events.sessionStarted(true, 'orders');
    events.sessionStarted(true, 'default');
    events.sessionStarted(true);
    events.sessionEnded(1, 1, 'orders');
    const lines = (await registry.metrics()).split('\n');
    for (const line of [
      'pgtunnel_route_connections_accepted_total{route="orders"} 2',
      'pgtunnel_route_connections_accepted_total{route="default"} 1',
      'pgtunnel_route_sessions_active{route="orders"} 1',
      'pgtunnel_route_sessions_active{route="default"} 1',
      'pgtunnel_connections_accepted_total{tls="true"} 4',
    ])
      assert.ok(lines.includes(line), `missing: ${line}`);
    assert.equal(
      lines.filter((line) => line.startsWith('pgtunnel_route_sessions_active{')).length,
      2,
    );
  });

  it('export events under the declared names', async () => {
    const registry = new Registry();
    const events = new GatewayMetrics(registry);
    const reloads = new ReloadMetrics(registry, new Date(1_700_000_000_000));
    events.connectionRefused('access_rule');
    events.sessionStarted(true);
    events.sessionStarted(false);
    events.sessionEnded(120, 4000);
    events.tlsHandshakeFailed('unknown_ca');
    reloads.reloaded(false, new Date(1_700_000_100_000));
    const text = await registry.metrics();
    const expected = [
      'pgtunnel_connections_accepted_total{tls="true"} 1',
      'pgtunnel_connections_accepted_total{tls="false"} 1',
      'pgtunnel_connections_refused_total{reason="access_rule"} 1',
      'pgtunnel_connections_refused_total{reason="too_many_connections"} 0',
      'pgtunnel_sessions_active 1',
      'pgtunnel_tls_handshake_failures_total{reason="unknown_ca"} 1',
      'pgtunnel_tls_handshake_failures_total{reason="timeout"} 0',
      'pgtunnel_client_bytes_received_total 120',
      'pgtunnel_client_bytes_sent_total 4000',
      'pgtunnel_reloads_total{result="failure"} 1',
      'pgtunnel_reloads_total{result="success"} 0',
      'pgtunnel_config_last_reload_successful 0',
      'pgtunnel_config_last_reload_success_timestamp_seconds 1700000000',
    ];
    for (const line of expected)
      assert.ok(text.split('\n').includes(line), `missing: ${line}\n${text}`);
    for (const spec of Object.values(METRICS)) {
      assert.ok(text.includes(`# TYPE ${spec.name} ${spec.type}\n`), spec.name);
    }
  });

  it('certificate gauges follow the certificates in effect (a reload replaces them)', async () => {
    const registry = new Registry();
    const events = new GatewayMetrics(registry);
    const served = (serial: string, notAfter: number): CertificateEntry => ({
      kind: 'served',
      file: '/etc/pgtunnel/server.crt',
      subject: 'CN=db.example.com',
      issuer: 'CN=CA',
      serial,
      notAfter: new Date(notAfter * 1000),
    });
    let inEffect: CertificateEntry[] = [
      served('1', 1_800_000_000),
      {
        kind: 'crl',
        file: '/c.crl',
        subject: 'CN=CA',
        issuer: 'CN=CA',
        serial: '',
        notAfter: new Date(1_790_000_000_000),
      },
    ];
    events.observeCertificates(() => inEffect);
    const first = await registry.metrics();
    assert.match(
      first,
      /pgtunnel_server_certificate_not_after_timestamp_seconds\{file="\/etc\/pgtunnel\/server.crt",subject="CN=db.example.com",serial="1"\} 1800000000\n/,
    );
    assert.match(
      first,
      /pgtunnel_crl_next_update_timestamp_seconds\{file="\/c.crl",issuer="CN=CA"\} 1790000000\n/,
    );
    inEffect = [served('2', 1_900_000_000)];
    const second = await registry.metrics();
    assert.match(second, /serial="2"\} 1900000000\n/);
    assert.doesNotMatch(second, /serial="1"/);
    assert.doesNotMatch(second, /pgtunnel_crl_next_update_timestamp_seconds\{/);
  });
});
