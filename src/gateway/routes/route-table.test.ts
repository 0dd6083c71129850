// Runs test/fixtures/routes/main.eval: every row is a client (server name, database, whether it
// presented a certificate, the unknown-server-name policy) and the route it must take, or the
// refusal it must get, against the routes of main.routes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseRoutesFile, ROUTE_TRUST_SETTINGS, routeSets } from './route-file.js';
import { type RouteChoice, RouteTable, type UnknownServerName } from './route-table.js';
import { serverNameMatches } from './server-name.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/routes/', import.meta.url));
const MAIN_CERTIFICATE_NAMES = ['gw.example', '*.gw.example'];

function tableFor(policy: UnknownServerName): RouteTable<string> {
  const file = join(fixtures, 'main.routes');
  const routes = parseRoutesFile(readFileSync(file, 'utf8'), file);
  return new RouteTable(
    routes.map((route) => ({
      route: route.name,
      name: route.name,
      serverNames: route.serverNames,
      databases: route.databases,
      ownClientTrust: routeSets(route, ROUTE_TRUST_SETTINGS),
    })),
    policy,
    (name) => MAIN_CERTIFICATE_NAMES.some((pattern) => serverNameMatches(pattern, name)),
  );
}

function outcome(choice: RouteChoice<string>): string {
  return choice.kind === 'route'
    ? (choice.route ?? 'default')
    : `refuse:${choice.sqlstate}:${choice.reason}`;
}

const rows = readFileSync(join(fixtures, 'main.eval'), 'utf8')
  .split('\n')
  .map((text, index) => ({ text, line: index + 1 }))
  .filter(({ text }) => !/^\s*(#|$)/.test(text));

describe('main.routes choice table', () => {
  const tables = { default: tableFor('default'), refuse: tableFor('refuse') };

  test('the table covers every route, the default route and every refusal', () => {
    const expected = new Set(rows.map(({ text }) => text.split(/\s+/)[0]));
    for (const name of ['a', 'b', 'exact', 'reports', 'secure', 'default'])
      assert.ok(expected.has(name), `no row expects ${name}`);
    for (const reason of [
      'unknown_server_name',
      'unknown_database',
      'route_conflict',
      'route_needs_sni',
    ]) {
      assert.ok(
        [...expected].some((item) => item?.endsWith(`:${reason}`)),
        `no row expects ${reason}`,
      );
    }
  });

  for (const { text, line } of rows) {
    const [expect, serverName, database, certificate, policy, ...extra] = text.trim().split(/\s+/);
    test(`main.eval:${line} ${text.trim().replace(/\s+/g, ' ')}`, () => {
      assert.equal(extra.length, 0, 'extra columns');
      assert.ok(certificate === 'cert' || certificate === 'nocert', 'certificate column');
      assert.ok(policy === 'default' || policy === 'refuse', 'policy column');
      const choice = tables[policy].choose({
        serverName: serverName === '-' ? undefined : serverName,
        database: database === '-' ? undefined : database,
        clientCertificatePresented: certificate === 'cert',
      });
      assert.equal(outcome(choice), expect);
    });
  }
});

describe('refusals speak PostgreSQL', () => {
  const table = tableFor('refuse');

  test('a database the server name does not serve is "no such database" (3D000)', () => {
    const choice = table.choose({
      serverName: 'db-a.test',
      database: 'postgres',
      clientCertificatePresented: false,
    });
    assert.equal(choice.kind, 'refuse');
    if (choice.kind !== 'refuse') return;
    assert.equal(choice.message, 'no such database: postgres');
    assert.equal(
      choice.detail,
      'Server name "db-a.test" is routed to "a", which serves only: appa.',
    );
  });

  test('an unknown server name is named in the refusal', () => {
    const choice = table.choose({
      serverName: 'Nobody.Test.',
      database: 'postgres',
      clientCertificatePresented: false,
    });
    assert.equal(
      choice.kind === 'refuse' && choice.message,
      'no route for server name "nobody.test"',
    );
  });
});
