// The status page as data: sessions, the TLS breakdown, certificates, reloads and the refusal
// chart are in the HTML; every value is escaped; nothing is loaded from elsewhere. The refusal
// history and the exposition parser that feed it are tested as tables.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseExposition } from './exposition.js';
import { RefusalHistory } from './refusal-history.js';
import type { SessionView } from './session-view.js';
import { certificatesFromMetrics, type StatusDocument } from './status-document.js';
import { renderStatusPage } from './status-page.js';

const session = (over: Partial<SessionView>): SessionView => ({
  id: 1,
  pid: 100,
  transport: 'tcp',
  client_addr: '10.0.0.7',
  client_port: 50000,
  user: 'alice',
  database: 'app',
  application_name: 'psql',
  state: 'active',
  backend_start: '2026-01-30T10:00:00.000Z',
  ssl: true,
  version: 'TLSv1.3',
  cipher: 'TLS_AES_256_GCM_SHA384',
  bits: 256,
  alpn: null,
  client_cert_verified: true,
  client_dn: 'CN=alice',
  client_serial: '42',
  route: null,
  issuer_dn: 'CN=CA',
  upstream: 'unix',
  backend_pid: 4321,
  ...over,
});

const status = (over: Partial<StatusDocument> = {}): StatusDocument => ({
  state: 'listening',
  started_at: '2026-01-30T09:00:00.000Z',
  pid: 99,
  generation: 1,
  workers: 1,
  listen_addresses: ['127.0.0.1:6432'],
  last_reload: null,
  sessions: [],
  warnings: [],
  certificates: [],
  reload_history: [],
  ...over,
});

describe('renderStatusPage', () => {
  const now = new Date('2026-01-30T10:30:00Z');
  const empty = new RefusalHistory().buckets(now);

  it('shows sessions with TLS details, the breakdown, certificates and reloads', () => {
    const html = renderStatusPage({
      status: status({
        sessions: [
          session({}),
          session({ id: 2, client_dn: null, client_serial: null, backend_pid: 4322 }),
          session({ id: 3, ssl: false, version: null, cipher: null, application_name: 'plain' }),
        ],
        warnings: ['server certificate "s.crt" (CN=db) expires in 3 days'],
        certificates: [
          {
            kind: 'served',
            file: 's.crt',
            subject: 'CN=db',
            serial: '7',
            not_after: '2026-02-02T00:00:00.000Z',
            days_left: 2,
          },
        ],
        reload_history: [{ at: '2026-01-30T10:10:00.000Z', ok: false, error: 'bad file' }],
      }),
      refusals: empty,
      refreshSeconds: 10,
      now,
    });
    assert.match(html, /<meta http-equiv="refresh" content="10">/);
    assert.match(html, /<td>CN=alice<\/td>/);
    assert.match(html, /<td>4321<\/td>/);
    assert.match(html, /<td>TLSv1\.3<\/td><td>TLS_AES_256_GCM_SHA384<\/td><td>2<\/td>/);
    assert.match(html, /<td>no TLS<\/td><td><\/td><td>1<\/td>/);
    assert.match(html, /class="warning" role="alert">server certificate/);
    assert.match(html, /<td>served<\/td><td>CN=db<\/td><td>7<\/td>/);
    assert.match(html, /<td>FAILED<\/td><td>bad file<\/td>/);
    assert.match(html, /No refusals in the last hour/);
    assert.doesNotMatch(html, /<script|src=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it('escapes every value (a client certificate DN is attacker-chosen)', () => {
    const html = renderStatusPage({
      status: status({ sessions: [session({ client_dn: 'CN=<img src=x onerror=alert(1)>' })] }),
      refusals: empty,
      refreshSeconds: 10,
      now,
    });
    assert.ok(html.includes('CN=&lt;img src=x onerror=alert(1)&gt;'));
    assert.ok(!html.includes('<img'));
  });

  it('draws refusals per minute with a legend table', () => {
    const history = new RefusalHistory();
    history.record(new Date('2026-01-30T10:00:00Z'), new Map([['access_rule', 0]]));
    history.record(new Date('2026-01-30T10:20:30Z'), new Map([['access_rule', 3]]));
    history.record(
      new Date('2026-01-30T10:25:30Z'),
      new Map([
        ['access_rule', 5],
        ['tls_unknown_ca', 2],
      ]),
    );
    const html = renderStatusPage({
      status: status(),
      refusals: history.buckets(now),
      refreshSeconds: 10,
      now,
    });
    assert.match(html, /<svg id="refusal-chart"/);
    assert.match(html, /<td><span class="swatch"[^>]*><\/span>access_rule<\/td><td>5<\/td>/);
    assert.match(html, /tls_unknown_ca<\/td><td>2<\/td>/);
    assert.equal((html.match(/<rect x=/g) ?? []).length, 3);
  });
});

describe('RefusalHistory', () => {
  it('turns counter samples into per-minute increases; a reset counts as 0', () => {
    const history = new RefusalHistory(3);
    history.record(new Date(0), new Map([['r', 10]]));
    history.record(new Date(61_000), new Map([['r', 12]]));
    history.record(new Date(125_000), new Map([['r', 1]]));
    const buckets = history.buckets(new Date(180_000));
    assert.deepEqual(buckets.byReason.get('r'), [0, 2, 0]);
    assert.equal(buckets.starts.length, 3);
  });
});

describe('parseExposition and certificatesFromMetrics', () => {
  it('reads names, escaped labels and values', () => {
    const text = [
      '# HELP x y',
      'pgtunnel_sessions_active 3',
      'pgtunnel_server_certificate_not_after_timestamp_seconds{file="/a b.crt",subject="CN=x\\\\y, O=\\"Q\\"",serial="12"} 1800000000',
      'pgtunnel_crl_next_update_timestamp_seconds{file="c.crl",issuer="CN=CA"} 1700086400',
      '',
    ].join('\n');
    const series = parseExposition(text);
    assert.deepEqual(series[0], { name: 'pgtunnel_sessions_active', labels: {}, value: 3 });
    assert.equal(series[1]?.labels.subject, 'CN=x\\y, O="Q"');
    const certificates = certificatesFromMetrics(series, new Date(1_700_000_000_000));
    assert.deepEqual(
      certificates.map((c) => [c.kind, c.subject, c.serial, c.days_left]),
      [
        ['served', 'CN=x\\y, O="Q"', '12', 1157],
        ['crl', 'CN=CA', null, 1],
      ],
    );
  });
});
