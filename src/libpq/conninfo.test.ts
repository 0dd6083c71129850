// Table tests for libpq connection-string parsing, defaults and target building; expected
// values and messages are libpq's own.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../errors.js';
import {
  applyConnInfoDefaults,
  type ConnInfo,
  clientOnlyKeywords,
  parseConnString,
  resolveConnInfo,
} from './conninfo.js';
import { parseServiceFile } from './pg-service.js';
import { targetsFromConnInfo } from './upstream-target.js';

const parses: Array<[string, ConnInfo]> = [
  ['', {}],
  ['host=localhost port=5432', { host: 'localhost', port: '5432' }],
  ['  host = localhost \t port=  5432  ', { host: 'localhost', port: '5432' }],
  ["host='my host' dbname=x", { host: 'my host', dbname: 'x' }],
  ["password='it\\'s' user=a\\ b", { password: "it's", user: 'a b' }],
  ["options='-c search_path=a\\\\b'", { options: '-c search_path=a\\b' }],
  ["host=''", { host: '' }],
  ['host=', { host: '' }],
  // libpq skips blanks after '=', so the next word becomes the value
  ['host= port=5', { host: 'port=5' }],
  ['host=a host=b', { host: 'b' }],
  ['requiressl=1', { sslmode: 'require' }],
  ['requiressl=0', { sslmode: 'prefer' }],
  [
    "sslmode=verify-full sslrootcert='/etc/ssl/root ca.crt'",
    {
      sslmode: 'verify-full',
      sslrootcert: '/etc/ssl/root ca.crt',
    },
  ],
  ['postgresql://', {}],
  ['postgres://db', { host: 'db' }],
  [
    'postgresql://alice:p%40ss%2Fw@db.example.com:5433/app?sslmode=verify-full&application_name=x%20y',
    {
      user: 'alice',
      password: 'p@ss/w',
      host: 'db.example.com',
      port: '5433',
      dbname: 'app',
      sslmode: 'verify-full',
      application_name: 'x y',
    },
  ],
  ['postgresql://alice@db', { user: 'alice', host: 'db' }],
  ['postgresql://:secret@db', { password: 'secret', host: 'db' }],
  ['postgresql://[::1]:5432/db', { host: '::1', port: '5432', dbname: 'db' }],
  ['postgresql://[2001:db8::7]', { host: '2001:db8::7' }],
  ['postgresql://h1:5432,h2:5433/db', { host: 'h1,h2', port: '5432,5433', dbname: 'db' }],
  ['postgresql://h1,[::1]:5433', { host: 'h1,::1', port: ',5433' }],
  ['postgresql:///db?host=/var/run/postgresql', { dbname: 'db', host: '/var/run/postgresql' }],
  ['postgresql://%2Fvar%2Frun%2Fpostgresql/db', { host: '/var/run/postgresql', dbname: 'db' }],
  ['postgresql://host/', { host: 'host' }],
  ['postgresql://host?sslmode=disable', { host: 'host', sslmode: 'disable' }],
  ['postgresql://host/?ssl=true', { host: 'host', sslmode: 'require' }],
  // raw blanks around a value are dropped; percent-encoded ones are kept
  [
    'postgresql://host/?sslmode= require &application_name=%20x',
    {
      host: 'host',
      sslmode: 'require',
      application_name: ' x',
    },
  ],
  [
    'postgresql://h/d?sslcert=%2Fa%2Fb.crt&sslkey=/a/b.key',
    {
      host: 'h',
      dbname: 'd',
      sslcert: '/a/b.crt',
      sslkey: '/a/b.key',
    },
  ],
  ['postgresql://h/caf%C3%A9', { host: 'h', dbname: 'café' }],
];

const rejects: Array<[string, string]> = [
  ['host', 'missing "=" after "host" in connection info string'],
  ['host=a port', 'missing "=" after "port" in connection info string'],
  ['host=a foo=b', 'invalid connection option "foo"'],
  ["host='abc", 'unterminated quoted string in connection info string'],
  ['mydb', 'missing "=" after "mydb" in connection info string'],
  ['POSTGRESQL://h', 'missing "=" after "POSTGRESQL://h" in connection info string'],
  ['postgresql://host/?ssl=false', 'invalid URI query parameter: "ssl"'],
  ['postgresql://host/?foo=bar', 'invalid URI query parameter: "foo"'],
  [
    'postgresql://host/?sslmode',
    'missing key/value separator "=" in URI query parameter: "sslmode"',
  ],
  ['postgresql://host/?a=b=c', 'extra key/value separator "=" in URI query parameter: "a"'],
  [
    'postgresql://[::1',
    'end of string reached when looking for matching "]" in IPv6 host address in URI: "postgresql://[::1"',
  ],
  ['postgresql://[]/', 'IPv6 host address may not be empty in URI: "postgresql://[]/"'],
  [
    'postgresql://[::1]x/',
    'unexpected character "x" at position 19 in URI (expected ":" or "/"): "postgresql://[::1]x/"',
  ],
  ['postgresql://h/db%zz', 'invalid percent-encoded token: "db%zz"'],
  ['postgresql://h/db%2', 'invalid percent-encoded token: "db%2"'],
  ['postgresql://h/db%00', 'forbidden value %00 in percent-encoded value: "db%00"'],
  [
    'postgresql://h/my db',
    'unexpected spaces found in "my db", use percent-encoded spaces (%20) instead',
  ],
];

function assertConnInfoError(fn: () => unknown, message: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    assert.equal(error.code, 'ERR_CONNINFO');
    assert.equal(error.message, message);
    return true;
  });
}

describe('parseConnString', () => {
  for (const [input, expected] of parses) {
    it(`parses ${JSON.stringify(input)}`, () => {
      assert.deepEqual(parseConnString(input), expected);
    });
  }
  for (const [input, message] of rejects) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assertConnInfoError(() => parseConnString(input), message);
    });
  }
  it('names the keywords only the local client can supply', () => {
    assert.deepEqual(
      clientOnlyKeywords(parseConnString('host=h user=u dbname=d sslmode=require')),
      ['user', 'dbname'],
    );
  });
});

describe('applyConnInfoDefaults', () => {
  const defaults = (text: string, env: NodeJS.ProcessEnv) =>
    resolveConnInfo(text, { env, lookupService: undefined });

  it('fills libpq compiled-in defaults', () => {
    const info = defaults('', {});
    assert.equal(info.sslmode, 'prefer');
    assert.equal(info.port, '5432');
    assert.equal(info.sslsni, '1');
    assert.equal(info.sslnegotiation, 'postgres');
    assert.equal(info.ssl_min_protocol_version, 'TLSv1.2');
    assert.equal(info.host, undefined);
    assert.equal(info.sslrootcert, undefined);
  });
  it('takes PG* environment variables, below explicit settings', () => {
    const env = {
      PGHOST: '/tmp',
      PGPORT: '6000',
      PGSSLMODE: 'require',
      PGSSLROOTCERT: '/r.crt',
      PGSSLCERT: '/c.crt',
      PGSSLKEY: '/c.key',
      PGSSLCRL: '/r.crl',
      PGSSLNEGOTIATION: 'direct',
      PGSSLSNI: '0',
      PGCONNECT_TIMEOUT: '7',
      PGHOSTADDR: '127.0.0.1',
      PGSSLMINPROTOCOLVERSION: 'TLSv1.3',
    };
    const info = defaults('port=7000', env);
    assert.equal(info.host, '/tmp');
    assert.equal(info.port, '7000');
    assert.equal(info.sslmode, 'require');
    assert.equal(info.sslrootcert, '/r.crt');
    assert.equal(info.sslcert, '/c.crt');
    assert.equal(info.sslkey, '/c.key');
    assert.equal(info.sslcrl, '/r.crl');
    assert.equal(info.sslnegotiation, 'direct');
    assert.equal(info.sslsni, '0');
    assert.equal(info.connect_timeout, '7');
    assert.equal(info.hostaddr, '127.0.0.1');
    assert.equal(info.ssl_min_protocol_version, 'TLSv1.3');
  });
  it('treats PGREQUIRESSL=1 as sslmode=require unless PGSSLMODE is set', () => {
    assert.equal(defaults('', { PGREQUIRESSL: '1' }).sslmode, 'require');
    assert.equal(defaults('', { PGREQUIRESSL: '0' }).sslmode, 'prefer');
    assert.equal(defaults('', { PGREQUIRESSL: '1', PGSSLMODE: 'allow' }).sslmode, 'allow');
  });
  it('makes sslrootcert=system default to verify-full, but not over an explicit sslmode', () => {
    assert.equal(defaults('sslrootcert=system', {}).sslmode, 'verify-full');
    assert.equal(defaults('', { PGSSLROOTCERT: 'system' }).sslmode, 'verify-full');
    assert.equal(defaults('sslrootcert=system sslmode=require', {}).sslmode, 'require');
    assert.equal(defaults('sslrootcert=system', { PGSSLMODE: 'prefer' }).sslmode, 'prefer');
  });
  it('counts an empty environment variable as set, as getenv() does', () => {
    assert.equal(defaults('', { PGSSLMODE: '' }).sslmode, '');
  });
  it('reads a service, below explicit settings and above the environment', () => {
    const file =
      '# comment\n[other]\nhost=nope\n\n[db]\nhost=db.example.com\nport=6543\nsslmode=verify-full\n';
    const info = applyConnInfoDefaults(parseConnString('service=db port=1'), {
      env: { PGSSLMODE: 'disable', PGHOST: 'envhost' },
      lookupService: (name) => {
        const settings = parseServiceFile(file, '/x/pg_service.conf', name);
        assert.ok(settings);
        return settings;
      },
    });
    assert.equal(info.host, 'db.example.com');
    assert.equal(info.port, '1');
    assert.equal(info.sslmode, 'verify-full');
  });
  it('rejects bad service files with libpq messages', () => {
    assertConnInfoError(
      () => parseServiceFile('[a]\nhost\n', '/f', 'a'),
      'syntax error in service file "/f", line 2',
    );
    assertConnInfoError(
      () => parseServiceFile('[a]\nservice=b\n', '/f', 'a'),
      'nested service specifications not supported in service file "/f", line 2',
    );
    assert.equal(parseServiceFile('[a]\nhost=x\n', '/f', 'b'), undefined);
  });
});

describe('targetsFromConnInfo', () => {
  const targets = (text: string) =>
    targetsFromConnInfo(resolveConnInfo(text, { env: {} }), { exists: () => true });

  it('builds one target with libpq defaults', () => {
    assert.deepEqual(targets('host=db.example.com'), [
      {
        host: 'db.example.com',
        port: 5432,
        sslmode: 'prefer',
        sslnegotiation: 'postgres',
        sslsni: true,
        sslcertmode: 'allow',
        keepalives: true,
        sslMinProtocolVersion: 'TLSv1.2',
      },
    ]);
  });
  it('defaults to the unix socket directory', () => {
    assert.equal(targets('')[0]?.host, '/var/run/postgresql');
  });
  it('pairs host and port lists, one port applying to all', () => {
    assert.deepEqual(
      targets('host=a,b port=1,2').map((t) => [t.host, t.port]),
      [
        ['a', 1],
        ['b', 2],
      ],
    );
    assert.deepEqual(
      targets('host=a,b port=5').map((t) => [t.host, t.port]),
      [
        ['a', 5],
        ['b', 5],
      ],
    );
    assert.deepEqual(
      targets('postgresql://h1,h2:5433').map((t) => [t.host, t.port]),
      [
        ['h1', 5432],
        ['h2', 5433],
      ],
    );
  });
  it('uses hostaddr without host, keeping host for verification when both are given', () => {
    const [only] = targets('hostaddr=127.0.0.1');
    assert.equal(only?.host, '');
    assert.equal(only?.hostaddr, '127.0.0.1');
    const [both] = targets('host=db hostaddr=127.0.0.1');
    assert.equal(both?.host, 'db');
    assert.equal(both?.hostaddr, '127.0.0.1');
  });
  it('turns connect_timeout into milliseconds with libpq’s 2-second floor', () => {
    assert.equal(targets('connect_timeout=1')[0]?.connectTimeoutMs, 2000);
    assert.equal(targets('connect_timeout=10')[0]?.connectTimeoutMs, 10000);
    assert.equal(targets('connect_timeout=0')[0]?.connectTimeoutMs, undefined);
  });
  it('reads sslsni and TLS versions as libpq does', () => {
    assert.equal(targets('sslsni=0')[0]?.sslsni, false);
    assert.equal(targets('ssl_min_protocol_version=tlsv1.3')[0]?.sslMinProtocolVersion, 'TLSv1.3');
  });

  const invalid: Array<[string, string]> = [
    ['host=a,b,c port=1,2', 'could not match 2 port numbers to 3 hosts'],
    ['host=x hostaddr=1.1.1.1,2.2.2.2', 'could not match 1 host names to 2 hostaddr values'],
    ['port=0', 'invalid port number: "0"'],
    ['port=65536', 'invalid port number: "65536"'],
    ['port=abc', 'invalid port number: "abc"'],
    ['sslmode=bogus', 'invalid sslmode value: "bogus"'],
    ['sslnegotiation=fast', 'invalid sslnegotiation value: "fast"'],
    [
      'sslrootcert=system sslmode=require',
      'weak sslmode "require" may not be used with sslrootcert=system (use "verify-full")',
    ],
    [
      'sslnegotiation=direct',
      'weak sslmode "prefer" may not be used with sslnegotiation=direct (use "require", "verify-ca", or "verify-full")',
    ],
    [
      'connect_timeout=soon',
      'invalid integer value "soon" for connection option "connect_timeout"',
    ],
    ['ssl_min_protocol_version=SSLv3', 'invalid ssl_min_protocol_version value: "SSLv3"'],
    [
      'ssl_min_protocol_version=TLSv1.3 ssl_max_protocol_version=TLSv1.2',
      'invalid SSL protocol version range',
    ],
    [
      'gssencmode=require',
      'gssencmode value "require" invalid when GSSAPI support is not compiled in',
    ],
    ['target_session_attrs=master', 'invalid target_session_attrs value: "master"'],
    [
      'host=a,b target_session_attrs=read-write',
      'target_session_attrs value "read-write" is not supported by pgtunnel: it would have to log in to each server before the client does; list only the servers wanted, or use "any"',
    ],
    ['load_balance_hosts=sometimes', 'invalid load_balance_hosts value: "sometimes"'],
  ];
  for (const [input, message] of invalid) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assertConnInfoError(() => targets(input), message);
    });
  }
  it('reads load_balance_hosts (and PGLOADBALANCEHOSTS); target_session_attrs=any is fine', () => {
    assert.deepEqual(
      targets('host=a,b load_balance_hosts=random').map((t) => t.loadBalanceHosts),
      [true, true],
    );
    assert.equal(targets('host=a load_balance_hosts=disable')[0]?.loadBalanceHosts, undefined);
    const fromEnv = targetsFromConnInfo(
      resolveConnInfo('host=a', { env: { PGLOADBALANCEHOSTS: 'random' } }),
    );
    assert.equal(fromEnv[0]?.loadBalanceHosts, true);
    assert.equal(targets('host=a,b target_session_attrs=any').length, 2);
    assertConnInfoError(
      () =>
        targetsFromConnInfo(
          resolveConnInfo('host=a', { env: { PGTARGETSESSIONATTRS: 'primary' } }),
        ),
      'target_session_attrs value "primary" is not supported by pgtunnel: it would have to log in to each server before the client does; list only the servers wanted, or use "any"',
    );
  });
  it('rejects an empty PGSSLMODE as libpq does', () => {
    assertConnInfoError(
      () => targetsFromConnInfo(resolveConnInfo('', { env: { PGSSLMODE: '' } })),
      'invalid sslmode value: ""',
    );
  });
});
