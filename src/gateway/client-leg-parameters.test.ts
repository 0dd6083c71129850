// The `pgtunnel.*` report and the refusal of forged settings, as tables: every way a client can
// set a run-time parameter through `options` (PostgreSQL's pg_split_opts and getopt rules).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeStartupMessage } from '../protocol/frontend.js';
import { decodeStartupPacket } from '../protocol/startup-packet.js';
import { NO_CLIENT_CERTIFICATE } from '../tls/peer-identity.js';
import {
  clientLegValues,
  findForgedSetting,
  forgedSettingRefusal,
  serverStartupPacket,
  settingsInOptions,
  splitOptions,
} from './client-leg-parameters.js';

describe('splitOptions (pg_split_opts)', () => {
  const cases: Array<[string, string[]]> = [
    ['', []],
    ['   ', []],
    ['-c a=b', ['-c', 'a=b']],
    ['  -c\ta=b  --x=y ', ['-c', 'a=b', '--x=y']],
    ['-c search_path=a\\ b', ['-c', 'search_path=a b']],
    ['-c x=\\\\', ['-c', 'x=\\']],
    ['\\-c', ['-c']],
    ['a\\', ['a\\']],
  ];
  for (const [input, expected] of cases) {
    it(JSON.stringify(input), () => assert.deepEqual(splitOptions(input), expected));
  }
});

describe('settingsInOptions (process_postgres_switches)', () => {
  const cases: Array<[string, string[]]> = [
    ['-c pgtunnel.ssl=on', ['pgtunnel.ssl']],
    ['-cpgtunnel.ssl=on', ['pgtunnel.ssl']],
    ['--pgtunnel.ssl=on', ['pgtunnel.ssl']],
    ['-ec pgtunnel.ssl=on', ['pgtunnel.ssl']],
    [
      '-e -c work_mem=64MB -c pgtunnel.ssl_client_dn=CN\\=x',
      ['work_mem', 'pgtunnel.ssl_client_dn'],
    ],
    ['--statement-timeout=5s', ['statement_timeout']],
    // -B takes an argument: the `c` inside it is not a switch.
    ['-B c -c x=1', ['x']],
    ['-Bc x=1', []],
    ['-c', ['']],
    ['pgtunnel.ssl=on', []],
    ['-c PGTUNNEL.SSL=on', ['PGTUNNEL.SSL']],
    // An escaped space makes one word: the name then starts with a space, which PostgreSQL rejects.
    ['-c\\ pgtunnel.ssl=on', [' pgtunnel.ssl']],
  ];
  for (const [input, expected] of cases) {
    it(JSON.stringify(input), () => assert.deepEqual(settingsInOptions(input), expected));
  }
});

describe('findForgedSetting', () => {
  const cases: Array<[Record<string, string>, ReturnType<typeof findForgedSetting>]> = [
    [{ user: 'a', database: 'b' }, undefined],
    [{ user: 'a', options: '-c work_mem=1MB' }, undefined],
    [
      { user: 'a', 'pgtunnel.ssl': 'on' },
      { name: 'pgtunnel.ssl', via: 'parameter' },
    ],
    [
      { user: 'a', 'PgTunnel.ssl': 'on' },
      { name: 'PgTunnel.ssl', via: 'parameter' },
    ],
    [
      { user: 'a', options: '-c pgtunnel.ssl=on' },
      { name: 'pgtunnel.ssl', via: 'options' },
    ],
    [
      { user: 'a', options: '--pgtunnel.client_addr=1.2.3.4' },
      { name: 'pgtunnel.client_addr', via: 'options' },
    ],
    [{ user: 'a', 'pgtunnelx.ssl': 'on', application_name: 'pgtunnel.ssl' }, undefined],
  ];
  for (const [parameters, expected] of cases) {
    it(JSON.stringify(parameters), () =>
      assert.deepEqual(findForgedSetting(new Map(Object.entries(parameters))), expected),
    );
  }

  it('is refused as PostgreSQL refuses a protected parameter (42501)', () => {
    const refusal = forgedSettingRefusal({ name: 'pgtunnel.ssl', via: 'options' });
    assert.equal(refusal.sqlstate, '42501');
    assert.equal(refusal.message, 'permission denied to set parameter "pgtunnel.ssl"');
  });
});

describe('clientLegValues and serverStartupPacket', () => {
  const tls = {
    version: 'TLSv1.3',
    cipher: 'TLS_AES_256_GCM_SHA384',
    bits: 256,
    alpn: 'postgresql',
    client: {
      ...NO_CLIENT_CERTIFICATE,
      presented: true,
      verified: true,
      dn: 'CN=alice',
      serial: '4660',
      issuerDn: 'CN=Test CA',
    },
  };

  it('reports TLS facts and the client address', () => {
    assert.deepEqual(
      clientLegValues({ transport: 'tcp', clientAddress: '10.1.2.3', clientPort: 51234, tls }),
      {
        client_addr: '10.1.2.3',
        client_port: '51234',
        ssl: 'on',
        ssl_version: 'TLSv1.3',
        ssl_cipher: 'TLS_AES_256_GCM_SHA384',
        ssl_client_dn: 'CN=alice',
        ssl_client_serial: '4660',
        ssl_issuer_dn: 'CN=Test CA',
      },
    );
  });

  it('reports a plaintext unix-socket client with empty values', () => {
    const values = clientLegValues({
      transport: 'local',
      clientAddress: '[local]',
      clientPort: undefined,
      tls: undefined,
    });
    assert.equal(values.ssl, 'off');
    assert.equal(values.client_addr, '');
    assert.equal(values.ssl_client_dn, '');
  });

  it('re-encodes the packet with the same protocol version and the client parameters first', () => {
    const packet = encodeStartupMessage(
      [
        ['user', 'alice'],
        ['database', 'db'],
      ],
      (3 << 16) | 2,
    );
    const facts = { transport: 'tcp' as const, clientAddress: '::1', clientPort: 5, tls };
    const rewritten = serverStartupPacket(
      packet,
      new Map([
        ['user', 'alice'],
        ['database', 'db'],
      ]),
      facts,
      { report: true },
    );
    assert.ok(Buffer.isBuffer(rewritten));
    const decoded = decodeStartupPacket(rewritten);
    assert.equal(decoded.kind, 'startup');
    if (decoded.kind !== 'startup') return;
    assert.equal(decoded.protocolMinor, 2);
    assert.deepEqual([...decoded.parameters.keys()].slice(0, 2), ['user', 'database']);
    assert.equal(decoded.parameters.get('pgtunnel.ssl_version'), 'TLSv1.3');
    assert.equal(decoded.parameters.get('pgtunnel.client_port'), '5');
    assert.equal(serverStartupPacket(packet, new Map(), facts, { report: false }), packet);
    const consolePacket = serverStartupPacket(
      packet,
      new Map([
        ['user', 'alice'],
        ['database', 'pgtunnel'],
      ]),
      facts,
      {
        report: false,
        database: 'postgres',
      },
    );
    assert.ok(Buffer.isBuffer(consolePacket));
    const console = decodeStartupPacket(consolePacket);
    assert.ok(console.kind === 'startup');
    assert.equal(console.parameters.get('database'), 'postgres');
    assert.equal(console.parameters.get('pgtunnel.ssl'), undefined);
  });

  it("refuses a packet the additions would push past PostgreSQL's 10000-byte limit", () => {
    const options = 'x'.repeat(9_800);
    const parameters = new Map([
      ['user', 'alice'],
      ['options', options],
    ]);
    const packet = encodeStartupMessage(parameters);
    assert.ok(packet.length <= 10_000);
    const facts = { transport: 'tcp' as const, clientAddress: '127.0.0.1', clientPort: 5, tls };
    const refused = serverStartupPacket(packet, parameters, facts, { report: true });
    assert.ok(!Buffer.isBuffer(refused));
    assert.equal(refused.message, 'invalid length of startup packet');
    assert.equal(serverStartupPacket(packet, parameters, facts, { report: false }), packet);
  });
});
