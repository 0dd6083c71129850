// Routes travel in the configuration snapshot as contents: a snapshot copied as the IPC channel
// copies it (v8 serialization) builds every route's TLS server, rules and upstream after the
// files are gone, and the snapshot names every file a route read, for watch_files.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deserialize, serialize } from 'node:v8';
import { createTestPki, type TestPki } from '../../../test/helpers/pki.js';
import { loadConfig } from '../../config/load.js';
import { NO_CLIENT_CERTIFICATE } from '../../tls/peer-identity.js';
import { newTicketKeys } from '../../tls/ticket-keys.js';
import {
  type ConfigSnapshot,
  generationFrom,
  loadSnapshot,
  snapshotWarnings,
} from '../config-snapshot.js';

describe('routes in the configuration snapshot', () => {
  let pki: TestPki;
  let dir: string;
  let snapshot: ConfigSnapshot;
  const contents: Record<string, Buffer> = {};

  before(async () => {
    pki = await createTestPki();
    dir = mkdtempSync(join(tmpdir(), 'pgtunnel-route-snapshot-'));
    const a = await pki.otherServer({ cn: 'db-a.test', sans: ['DNS:db-a.test'] });
    copyFileSync(a.cert, join(dir, 'a.crt'));
    copyFileSync(a.key, join(dir, 'a.key'));
    copyFileSync(pki.caBundle, join(dir, 'b-ca.crt'));
    writeFileSync(join(dir, 'a.hba'), 'hostssl all alice 0.0.0.0/0 trust\n');
    writeFileSync(
      join(dir, 'main.conf'),
      [
        `ssl_cert_file = '${pki.serverCert}'`,
        `ssl_key_file = '${pki.serverKey}'`,
        "upstream = 'host=/run/postgresql port=5432'",
        "routes_file = 'routes.conf'",
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'routes.conf'),
      [
        '[a]',
        "server_name = 'db-a.test'",
        'ssl_cert_file = a.crt',
        'ssl_key_file = a.key',
        'hba_file = a.hba',
        "upstream = 'host=127.0.0.1 port=5433'",
        '[b]',
        'database = appb',
        'ssl_ca_file = b-ca.crt',
        `ssl_crl_dir = '${dir}'`,
        '[c]',
        "server_name = 'localhost, db-c.test, *.c.test'",
      ].join('\n'),
    );
    for (const name of ['a.crt', 'a.key', 'a.hba', 'b-ca.crt'])
      contents[name] = readFileSync(join(dir, name));
    const config = loadConfig({ configFile: join(dir, 'main.conf') });
    snapshot = await loadSnapshot(config, { generation: 1, isReload: false });
  });
  after(async () => {
    await pki?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("carries each route's certificate, key, CA and rules as contents", () => {
    const [a, b] = snapshot.routes?.routes ?? [];
    assert.equal(String(a?.tls?.cert), String(contents['a.crt']));
    assert.equal(String(a?.tls?.key), String(contents['a.key']));
    assert.deepEqual(
      a?.hba?.rules.map((rule) => `${rule.file}:${rule.line}`),
      [`${join(dir, 'a.hba')}:1`],
    );
    assert.equal(a?.inheritsRules, false);
    assert.equal(String(b?.tls?.ca), String(contents['b-ca.crt']));
    assert.equal(b?.ownClientTrust, true);
    assert.equal(b?.inheritsRules, true);
  });

  it("warns of a route's server names its certificate is not valid for", () => {
    assert.deepEqual(snapshotWarnings(snapshot), [
      `${join(dir, 'routes.conf')}:11: route [c]: the certificate "${pki.serverCert}" is not valid for server name "db-c.test": libpq clients with sslmode=verify-full will refuse it`,
      `${join(dir, 'routes.conf')}:11: route [c]: the certificate "${pki.serverCert}" is not valid for server name "*.c.test": libpq clients with sslmode=verify-full will refuse it`,
    ]);
  });

  it('names every file a route read for watch_files', () => {
    for (const name of ['routes.conf', 'a.crt', 'a.key', 'a.hba', 'b-ca.crt'])
      assert.ok(snapshot.watch.files.includes(join(dir, name)), `${name} is not watched`);
    assert.ok(snapshot.watch.directories.includes(dir), 'the CRL directory is not watched');
  });

  it('builds every route from a copy of the snapshot after the files are gone', () => {
    const copy = deserialize(serialize(snapshot)) as ConfigSnapshot;
    rmSync(dir, { recursive: true, force: true });
    const generation = generationFrom(copy, newTicketKeys());
    const routes = generation.routes;
    assert.ok(routes);
    const a = routes.byServerName('DB-A.test.')?.route;
    assert.equal(a?.route, 'a');
    assert.notEqual(a?.tls, generation.tls);
    assert.equal(a?.upstreams[0]?.port, 5433);
    const facts = (user: string) => ({
      transport: 'tcp' as const,
      address: '10.0.0.1',
      ssl: true,
      database: 'postgres',
      user,
      replication: false as const,
      clientCertificate: NO_CLIENT_CERTIFICATE,
    });
    assert.equal(a?.access.decide(facts('alice')).allow, true);
    assert.equal(a?.access.decide(facts('bob')).allow, false);
    // Route b brings its own CA, so its own TLS server; its rules are the main ones.
    const b = routes.byDatabase('appb')?.route;
    assert.notEqual(b?.tls, generation.tls);
    assert.equal(b?.access, generation.access);
    assert.equal(generation.route, 'default');
  });
});
