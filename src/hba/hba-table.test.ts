// Runs test/fixtures/hba/main.eval: every row is a connection and the pg_hba.conf line that
// must match it (or none), against the awkward rules file main.conf and its includes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadHba } from './load.js';
import { type ConnectionFacts, matchHba } from './match.js';

const fixtures = fileURLToPath(new URL('../../test/fixtures/hba/', import.meta.url));

/** The machine's interfaces as main.eval assumes them. */
const LOCAL_ADDRESSES = [
  { address: '127.0.0.1', netmask: '255.0.0.0' },
  { address: '192.0.2.10', netmask: '255.255.255.0' },
  { address: 'fd00::10', netmask: 'ffff:ffff:ffff:ffff::' },
];

interface Row {
  lineNumber: number;
  expect: string;
  facts: ConnectionFacts;
}

/** Words separated by blanks; a word may be a JSON string holding blanks and quotes. */
function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"(?:[^"\\]|\\.)*"|\S+/g)) {
    out.push(m[0].startsWith('"') ? (JSON.parse(m[0]) as string) : m[0]);
  }
  return out;
}

function readTable(path: string): Row[] {
  const rows: Row[] = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((text, index) => {
      if (/^\s*(#|$)/.test(text)) return;
      const [expect, transport, address, ssl, database, user, replication, ...extra] = words(text);
      const where = `main.eval:${index + 1}`;
      assert.ok(expect && database !== undefined && user !== undefined, `${where}: short row`);
      assert.equal(extra.length, 0, `${where}: extra columns`);
      assert.ok(transport === 'local' || transport === 'tcp', `${where}: transport`);
      assert.ok(ssl === 'ssl' || ssl === 'nossl', `${where}: ssl column`);
      assert.ok([undefined, 'repl', 'repl=database'].includes(replication), `${where}: repl`);
      const facts: ConnectionFacts = {
        transport,
        ssl: ssl === 'ssl',
        database,
        user,
        replication:
          replication === 'repl' ? true : replication === 'repl=database' ? 'database' : false,
        localAddresses: LOCAL_ADDRESSES,
      };
      if (address !== '-') facts.address = address;
      rows.push({ lineNumber: index + 1, expect, facts });
    });
  return rows;
}

describe('main.conf decision table', async () => {
  const { rules, warnings } = await loadHba(
    join(fixtures, 'main.conf'),
    join(fixtures, 'pg_ident.conf'),
  );
  const rows = readTable(join(fixtures, 'main.eval'));

  test('the table is not trivially small and covers every rule', () => {
    assert.ok(rows.length >= 60, `only ${rows.length} rows`);
    const expected = new Set(rows.map((r) => r.expect));
    for (const rule of rules) {
      // hostgssenc rules can never match here; the heidi rows check that they are skipped.
      if (rule.connectionType === 'hostgssenc') continue;
      const location = `${relative(fixtures, rule.file)}:${rule.line}`;
      assert.ok(expected.has(location), `no row expects ${location}`);
    }
    assert.ok(expected.has('none'));
  });

  test('include_if_exists of a missing file and hostgssenc lines are warnings', () => {
    assert.deepEqual(
      warnings.map((w) => `${relative(fixtures, w.location)}: ${w.message}`),
      [
        `main.conf:51: skipping missing authentication file "${join(fixtures, 'missing-is-fine.conf')}"`,
        'main.conf:42: hostgssenc record cannot match because the gateway does not do GSSAPI encryption',
      ],
    );
  });

  for (const row of rows) {
    const f = row.facts;
    const name = `main.eval:${row.lineNumber} ${f.transport} ${f.address ?? '-'} ${f.ssl ? 'ssl' : 'nossl'} db=${f.database} user=${f.user} repl=${f.replication} → ${row.expect}`;
    test(name, () => {
      const decision = matchHba(rules, f);
      const got = decision.matched
        ? `${relative(fixtures, decision.rule.file)}:${decision.rule.line}`
        : 'none';
      assert.equal(got, row.expect);
    });
  }
});
