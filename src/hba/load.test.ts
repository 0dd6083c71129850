// loadHba(): reading both files from disk, reporting problems of both together, and refusing
// map= names that pg_ident.conf does not define.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.js';
import { parseIdent } from './ident.js';
import { checkRuleMaps, loadHba } from './load.js';
import { parseHba } from './parse.js';
import { HbaConfigError } from './problems.js';

const fixtures = fileURLToPath(new URL('../../test/fixtures/hba/', import.meta.url));
const bad = join(fixtures, 'bad');

describe('loadHba', () => {
  test('loads the fixture pair with includes and the ident map', async () => {
    const loaded = await loadHba(join(fixtures, 'main.conf'), join(fixtures, 'pg_ident.conf'));
    assert.equal(loaded.rules.length, 29);
    assert.equal(loaded.identMaps?.lines.length, 10);
    assert.equal(loaded.rules.at(-2)?.map, 'certs');
  });

  test('a missing top-level file is ERR_CONFIG_FILE naming the path', async () => {
    const path = join(fixtures, 'no-such-hba.conf');
    await assert.rejects(loadHba(path), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.code, 'ERR_CONFIG_FILE');
      assert.equal(error.location, path);
      assert.equal(
        error.message,
        `${path}: could not open file "${path}": No such file or directory`,
      );
      return true;
    });
  });

  test('a map= that pg_ident.conf does not define fails at its line', async () => {
    await assert.rejects(
      loadHba(join(bad, 'maps.conf'), join(fixtures, 'pg_ident.conf')),
      (error: unknown) => {
        assert.ok(error instanceof HbaConfigError);
        assert.deepEqual(
          error.problems.map((p) => [p.location.replace(fixtures, ''), p.message]),
          [
            [
              'bad/maps.conf:3',
              `map "nosuch" is not defined in "${join(fixtures, 'pg_ident.conf')}"`,
            ],
          ],
        );
        return true;
      },
    );
  });

  test('map= without a pg_ident.conf fails at every such line', async () => {
    await assert.rejects(loadHba(join(bad, 'maps.conf')), (error: unknown) => {
      assert.ok(error instanceof HbaConfigError);
      assert.deepEqual(
        error.problems.map((p) => [p.line, p.message]),
        [
          [2, 'map "certs" needs a pg_ident.conf, and none is configured'],
          [3, 'map "nosuch" needs a pg_ident.conf, and none is configured'],
        ],
      );
      return true;
    });
  });

  test('problems in both files are reported together, pg_hba.conf first', async () => {
    await assert.rejects(
      loadHba(join(bad, 'errors.conf'), join(bad, 'ident-errors.conf')),
      (error: unknown) => {
        assert.ok(error instanceof HbaConfigError);
        const files = error.problems.map((p) => p.file.replace(bad, ''));
        assert.equal(files.filter((f) => f === '/errors.conf').length, 54);
        assert.equal(files.filter((f) => f === '/ident-errors.conf').length, 7);
        assert.equal(files.indexOf('/ident-errors.conf'), 54);
        assert.equal(error.location, `${join(bad, 'errors.conf')}:3`);
        return true;
      },
    );
  });
});

describe('checkRuleMaps', () => {
  test('is pure and accepts maps that exist', () => {
    const { rules } = parseHba('hostssl all all all cert map=m\n', 'h');
    assert.deepEqual(checkRuleMaps(rules, parseIdent('m a b\n', 'i')), []);
    assert.equal(checkRuleMaps(rules, parseIdent('n a b\n', 'i'))[0]?.location, 'h:1');
  });
});
