// The stunnel-style tunnel file: sections, global defaults, libpq keywords, file:line errors.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ConfigError } from '../errors.js';
import { parseTunnelFile } from './tunnel-config.js';
import { connectValueToConnInfo, tunnelSpecFromSection } from './tunnel-spec.js';

const FILE = `; global options, then one section per tunnel
pid = /run/pgtunnel/connect.pid
log_level = debug
sslrootcert = /etc/pgtunnel/root.crt

[orders]
accept = 127.0.0.1:5433
accept = /run/pgtunnel:5433
connect = host=db1.example.com port=5432 sslmode=verify-full
sslcert = /etc/pgtunnel/client.crt
sslkey = /etc/pgtunnel/client.key

# stunnel's host:port form, raw TLS
[ legacy ]
client = yes
raw = yes
accept = 6000
connect = tls.example.com:443
idle_timeout = 300
`;

function configError(fn: () => unknown, code: string, message: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ConfigError, String(error));
    assert.equal(error.code, code);
    assert.equal(error.message, message);
    return true;
  });
}

describe('parseTunnelFile', () => {
  const file = parseTunnelFile(FILE, 'connect.conf');
  it('reads global options', () => {
    assert.equal(file.pidFile?.value, '/run/pgtunnel/connect.pid');
    assert.equal(file.logLevel?.value, 'debug');
    assert.deepEqual(
      file.tunnels.map((t) => t.name),
      ['orders', 'legacy'],
    );
  });
  it('builds tunnels, with global libpq settings as defaults', () => {
    const env = {};
    const [orders, legacy] = file.tunnels.map((t) => tunnelSpecFromSection(t, env));
    assert.deepEqual(orders?.listen, [
      { kind: 'tcp', host: '127.0.0.1', port: 5433 },
      {
        kind: 'unix',
        path: '/run/pgtunnel/.s.PGSQL.5433',
        directory: '/run/pgtunnel',
        port: 5433,
      },
    ]);
    assert.equal(orders?.targets[0]?.host, 'db1.example.com');
    assert.equal(orders?.targets[0]?.sslmode, 'verify-full');
    assert.equal(orders?.targets[0]?.sslrootcert, '/etc/pgtunnel/root.crt');
    assert.equal(orders?.targets[0]?.sslcert, '/etc/pgtunnel/client.crt');
    assert.equal(orders?.raw, false);
    assert.equal(legacy?.raw, true);
    assert.equal(legacy?.targets[0]?.host, 'tls.example.com');
    assert.equal(legacy?.targets[0]?.port, 443);
    // raw mode with no sslmode is verify-full, never libpq's "prefer"
    assert.equal(legacy?.targets[0]?.sslmode, 'verify-full');
    assert.equal(legacy?.idleTimeoutMs, 300_000);
  });
  it('warns about settings only the local client can give', () => {
    const [section] = parseTunnelFile(
      '[a]\naccept = 1\nconnect = host=h user=app dbname=app\n',
      'f',
    ).tunnels;
    assert.ok(section);
    assert.deepEqual(tunnelSpecFromSection(section, {}).warnings, [
      'user, dbname are ignored: each local client sends its own user, database and password',
    ]);
  });

  const errors: Array<[string, string, string]> = [
    ['[a]\naccept 1\n', 'ERR_CONFIG_SYNTAX', 'f:2: expected "key = value", got "accept 1"'],
    ['[a\n', 'ERR_CONFIG_SYNTAX', 'f:1: expected "[name]", got "[a"'],
    ['[a]\n[a]\n', 'ERR_CONFIG_CONFLICT', 'f:2: tunnel [a] is defined twice'],
    [
      '[a]\npid = x\n',
      'ERR_CONFIG_PLACEMENT',
      'f:2: pid is a global option: put it before the first [section]',
    ],
    ['accept = 1\n', 'ERR_CONFIG_PLACEMENT', 'f:1: accept belongs in a [tunnel] section'],
    ['[a]\nraw = maybe\n', 'ERR_CONFIG_INVALID', 'f:2: raw must be yes or no, not "maybe"'],
    [
      '[a]\nclient = no\n',
      'ERR_CONFIG_UNSUPPORTED',
      'f:2: client = no is stunnel\'s server mode: use "pgtunnel serve --raw" for that direction',
    ],
    [
      'log_level = loud\n',
      'ERR_CONFIG_INVALID',
      'f:1: log_level must be one of debug, info, warn, error, not "loud"',
    ],
  ];
  for (const [text, code, message] of errors) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      configError(() => parseTunnelFile(text, 'f'), code, message);
    });
  }
  it('names unknown keys with the line', () => {
    assert.throws(
      () => parseTunnelFile('[a]\nCAfile = x\n', 'f'),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.code === 'ERR_CONFIG_UNKNOWN_KEY' &&
        error.message.startsWith('f:2: unknown key "CAfile": use a libpq keyword (') &&
        error.message.includes('sslrootcert'),
    );
  });
  it('puts libpq errors at the line that caused them', () => {
    const [section] = parseTunnelFile(
      '[a]\naccept = 1\nconnect = host=h sslmode=sure\n',
      'f',
    ).tunnels;
    assert.ok(section);
    configError(
      () => tunnelSpecFromSection(section, {}),
      'ERR_CONNINFO',
      'f:3: invalid sslmode value: "sure"',
    );
    const [raw] = parseTunnelFile(
      '[r]\nraw = yes\naccept = 1\nconnect = h:1\nsslmode = prefer\n',
      'f',
    ).tunnels;
    assert.ok(raw);
    configError(
      () => tunnelSpecFromSection(raw, {}),
      'ERR_CONFIG_CONFLICT',
      'f:5: raw mode always uses TLS: sslmode must be require, verify-ca or verify-full, not "prefer"',
    );
    // the line that set the keyword, wherever it is: the tunnel's own, connect, or global
    const lineOf = (text: string, env: NodeJS.ProcessEnv = {}) => {
      const [section] = parseTunnelFile(text, 'f').tunnels;
      assert.ok(section);
      try {
        tunnelSpecFromSection(section, env);
      } catch (error) {
        assert.ok(error instanceof ConfigError, String(error));
        return error.message.split(': ')[0];
      }
      assert.fail('expected an error');
    };
    assert.equal(lineOf('sslmode = sure\n[a]\naccept = 1\nconnect = host=h\nport = 5\n'), 'f:1');
    assert.equal(
      lineOf('[a]\naccept = 1\nconnect = host=h port=0\nsslcert = /c\nsslkey = /k\n'),
      'f:3',
    );
    assert.equal(
      lineOf('[a]\nconnect = host=h\nconnect_timeout = soon\nsslkey = /k\naccept = 1\n'),
      'f:3',
    );
    assert.equal(
      lineOf('[a]\naccept = 1\nconnect = host=h\nsslrootcert = system\nsslmode = require\n'),
      'f:5',
    );
    assert.equal(
      lineOf('[a]\naccept = 1\nsslmode = require\nconnect = host=h target_session_attrs=primary\n'),
      'f:4',
    );
    // from the environment: the section is named
    assert.equal(
      lineOf('[a]\naccept = 1\nconnect = host=h\nsslcert = /c\n', { PGSSLMODE: 'sure' }),
      'f:1',
    );
    const [none] = parseTunnelFile('[n]\naccept = 1\n', 'f').tunnels;
    assert.ok(none);
    configError(
      () => tunnelSpecFromSection(none, {}),
      'ERR_CONFIG_MISSING',
      'f:1: tunnel [n] has no server: add "connect = host=… port=… sslmode=…"',
    );
  });
});

describe('global libpq keywords', () => {
  const specs = (text: string) =>
    parseTunnelFile(text, 'f').tunnels.map((section) => tunnelSpecFromSection(section, {}));

  it('are defaults that a tunnel’s connect string overrides', () => {
    const [strict, loose] = specs(
      [
        'sslmode = require',
        'sslrootcert = /r.crt',
        '[strict]',
        'accept = 1',
        'connect = host=db sslmode=verify-full',
        '[loose]',
        'accept = 2',
        'connect = host=db',
      ].join('\n'),
    );
    assert.equal(strict?.targets[0]?.sslmode, 'verify-full');
    assert.equal(strict?.targets[0]?.sslrootcert, '/r.crt');
    assert.equal(loose?.targets[0]?.sslmode, 'require');
  });
  it('come below the tunnel’s own keyword lines, which refine connect', () => {
    const [tunnel] = specs(
      'sslmode = require\n[t]\naccept = 1\nconnect = host=db sslmode=verify-ca\nsslmode = verify-full\n',
    );
    assert.equal(tunnel?.targets[0]?.sslmode, 'verify-full');
  });
  it('can name the server for every tunnel', () => {
    const [tunnel] = specs('host = db.example.com\n[t]\naccept = 1\n');
    assert.equal(tunnel?.targets[0]?.host, 'db.example.com');
  });
});

describe('the sample in docs/connect.md', () => {
  const markdown = readFileSync(new URL('../../docs/connect.md', import.meta.url), 'utf8');
  const sample = /```ini\n(; \/etc\/pgtunnel\/connect\.conf\n[\s\S]*?)```/.exec(markdown)?.[1];

  it('parses and builds the tunnels it describes', () => {
    assert.ok(sample, 'docs/connect.md has the connect.conf sample');
    const file = parseTunnelFile(sample, 'connect.conf');
    assert.equal(file.pidFile?.value, '/run/pgtunnel/connect.pid');
    assert.equal(file.logLevel?.value, 'info');
    const [orders, reports, legacy] = file.tunnels.map((t) => tunnelSpecFromSection(t, {}));
    assert.deepEqual([orders?.name, reports?.name, legacy?.name], ['orders', 'reports', 'legacy']);
    assert.equal(orders?.listen.length, 2);
    assert.equal(orders?.targets[0]?.sslcert, '/etc/pgtunnel/orders.crt');
    assert.equal(orders?.targets[0]?.sslrootcert, '/etc/pgtunnel/root.crt');
    assert.equal(orders?.idleTimeoutMs, 3_600_000);
    assert.deepEqual(
      reports?.targets.map((t) => t.host),
      ['reports-a.example.com', 'reports-b.example.com'],
    );
    assert.equal(reports?.localTls?.certFile, '/etc/pgtunnel/local.crt');
    assert.equal(legacy?.raw, true);
    assert.equal(legacy?.targets[0]?.sslmode, 'verify-full');
    assert.equal(legacy?.unixSocketMode, 0o770);
  });
});

describe('connectValueToConnInfo', () => {
  it('takes libpq strings, URIs and stunnel host:port', () => {
    assert.deepEqual(connectValueToConnInfo('host=a port=1'), { host: 'a', port: '1' });
    assert.deepEqual(connectValueToConnInfo('postgresql://a:2'), { host: 'a', port: '2' });
    assert.deepEqual(connectValueToConnInfo('db:5432'), { host: 'db', port: '5432' });
    assert.deepEqual(connectValueToConnInfo('[::1]:5432'), { host: '::1', port: '5432' });
    assert.deepEqual(connectValueToConnInfo('5432'), { host: 'localhost', port: '5432' });
    assert.deepEqual(connectValueToConnInfo('/var/run/postgresql:5433'), {
      host: '/var/run/postgresql',
      port: '5433',
    });
  });
});
