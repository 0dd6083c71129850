// The routes file: what a route may set, how values are written, and every load error with
// its file:line.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../errors.js';
import { parseRoutesFile } from './route-file.js';

const FILE = '/etc/pgtunnel/routes.conf';

describe('parseRoutesFile', () => {
  it('reads match keys, postgresql.conf quoting and paths relative to the file', () => {
    const [a, b] = parseRoutesFile(
      [
        '# two clusters',
        '[a]',
        "server_name = 'DB-A.test., *.a.example, db-a.test'",
        "database = 'appa, app''s'",
        'ssl_cert_file = certs/a.crt',
        "upstream = 'host=/run/postgresql port=5433 sslmode=disable'",
        '[b]',
        'database = appb',
        "hba_file = '/srv/b/pg_hba.conf'  # rules of B",
        'client_leg_parameters = off',
      ].join('\n'),
      FILE,
    );
    assert.deepEqual(a?.serverNames, ['db-a.test', '*.a.example']);
    assert.deepEqual(a?.databases, ['appa', "app's"]);
    assert.deepEqual(a?.settings, {
      ssl_cert_file: '/etc/pgtunnel/certs/a.crt',
      upstream: 'host=/run/postgresql port=5433 sslmode=disable',
    });
    assert.equal(a?.location, `${FILE}:2`);
    assert.deepEqual(b?.settings, { hba_file: '/srv/b/pg_hba.conf', client_leg_parameters: false });
  });

  const errors: Array<[string, string, string]> = [
    [
      'a key before any route',
      'upstream = x\n[a]\ndatabase = d',
      ':1: "upstream" stands before the first [route] section',
    ],
    [
      'a route defined twice',
      '[a]\ndatabase = d\n[a]\ndatabase = e',
      ':3: route [a] is defined twice',
    ],
    [
      'a route matching nothing',
      '[a]\nupstream = x',
      ':1: route [a] matches nothing: give it server_name, database or both',
    ],
    [
      'the reserved name',
      '[default]\ndatabase = d',
      ':1: [default] is the name of the main configuration',
    ],
    [
      'a gateway-wide setting',
      '[a]\ndatabase = d\nport = 5',
      ':3: "port" cannot be set per route: set it in the main configuration file',
    ],
    ['an unknown key', '[a]\ndatabase = d\nsni = x', ':3: unrecognized route parameter "sni"'],
    [
      'a key set twice',
      '[a]\ndatabase = d\ndatabase = e',
      `:3: "database" is set twice in route [a] (first at ${FILE}:2)`,
    ],
    [
      'a bad value',
      '[a]\ndatabase = d\nclient_leg_parameters = maybe',
      ':3: invalid value for parameter "client_leg_parameters": "maybe"',
    ],
    [
      'an IP address as server name',
      "[a]\nserver_name = '10.0.0.1'",
      ':2: invalid server_name: "10.0.0.1" is an IP address',
    ],
    [
      'a wildcard inside a name',
      "[a]\nserver_name = 'db.*.example'",
      ':2: invalid server_name: "db.*.example": a wildcard must be a whole leftmost label',
    ],
    [
      'a bare wildcard',
      "[a]\nserver_name = '*'",
      ':2: invalid server_name: "*": a wildcard must be a whole leftmost label',
    ],
    ['an empty list', "[a]\nserver_name = ''", ':2: server_name is empty'],
    ['an unterminated quote', "[a]\ndatabase = 'd", ':2: unterminated quoted string'],
    [
      'the same server name in two routes',
      "[a]\nserver_name = db.test\n[b]\nserver_name = 'DB.test.'",
      `:4: server_name "db.test" is in route [a] (${FILE}:2) and in route [b]`,
    ],
    [
      'the same wildcard in two routes',
      "[a]\nserver_name = '*.x.test'\n[b]\nserver_name = '*.X.test'",
      ':4: server_name "*.x.test" is in route [a]',
    ],
    [
      'the same database in two routes',
      "[a]\ndatabase = d\n[b]\ndatabase = 'e, d'",
      `:4: database "d" is in route [a] (${FILE}:2) and in route [b]`,
    ],
  ];
  for (const [name, text, message] of errors) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => parseRoutesFile(text, FILE),
        (error: unknown) =>
          error instanceof ConfigError && error.message.startsWith(`${FILE}${message}`),
      );
    });
  }
});
