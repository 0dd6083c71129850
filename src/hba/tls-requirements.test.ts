// Rules against the TLS settings: certificate rules need ssl_ca_file, and hostssl rules with
// ssl off are kept with PostgreSQL's note, both with file:line.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadHba } from './load.js';
import { parseHba } from './parse.js';
import { HbaConfigError } from './problems.js';
import { checkTlsRequirements } from './tls-requirements.js';

const fixtures = fileURLToPath(new URL('../../test/fixtures/hba/', import.meta.url));

const RULES = [
  'local   all all                 trust',
  'hostssl all a   all             trust',
  'hostssl all b   all             cert',
  'hostssl all c   all             md5 clientcert=verify-ca',
  'host    all d   all             trust',
  '',
].join('\n');

describe('checkTlsRequirements', () => {
  const { rules } = parseHba(RULES, 'h.conf');

  test('cert and clientcert= rules without ssl_ca_file are refused at their lines', () => {
    const { problems, warnings } = checkTlsRequirements(rules, {
      ssl: true,
      clientCertificates: false,
    });
    assert.deepEqual(
      problems.map((p) => [p.code, p.location, p.message]),
      [
        [
          'ERR_HBA_UNSUPPORTED',
          'h.conf:3',
          'cert authentication needs ssl_ca_file: client certificates can only be checked if a ' +
            'root certificate store is available',
        ],
        [
          'ERR_HBA_UNSUPPORTED',
          'h.conf:4',
          'clientcert=verify-ca needs ssl_ca_file: client certificates can only be checked if a ' +
            'root certificate store is available',
        ],
      ],
    );
    assert.deepEqual(warnings, []);
  });

  test('with ssl_ca_file nothing is said', () => {
    assert.deepEqual(checkTlsRequirements(rules, { ssl: true, clientCertificates: true }), {
      problems: [],
      warnings: [],
    });
  });

  test('with ssl off, hostssl lines are kept with a note, as PostgreSQL does', () => {
    const { problems, warnings } = checkTlsRequirements(rules, {
      ssl: false,
      clientCertificates: false,
    });
    assert.deepEqual(problems, []);
    assert.deepEqual(
      warnings.map((w) => w.location),
      ['h.conf:2', 'h.conf:3', 'h.conf:4'],
    );
    assert.equal(warnings[0]?.message, 'hostssl record cannot match because SSL is disabled');
  });

  test('loadHba refuses the fixture (it has cert rules) when no CA is configured', async () => {
    const main = join(fixtures, 'main.conf');
    await assert.rejects(
      loadHba(main, join(fixtures, 'pg_ident.conf'), { ssl: true, clientCertificates: false }),
      (error: unknown) => {
        assert.ok(error instanceof HbaConfigError);
        assert.deepEqual(
          error.problems.map((p) => p.location.replace(fixtures, '')),
          ['main.conf:14', 'main.conf:46', 'main.conf:47', 'main.conf:55'],
        );
        return true;
      },
    );
    const loaded = await loadHba(main, join(fixtures, 'pg_ident.conf'), {
      ssl: true,
      clientCertificates: true,
    });
    assert.equal(loaded.rules.length, 29);
  });
});
