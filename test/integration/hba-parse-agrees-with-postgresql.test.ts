// pgtunnel's pg_hba.conf parser against PostgreSQL 18's own: the fixture files are copied into
// a real cluster and read back through pg_hba_file_rules. Also the certificate DN that
// `clientname=DN` matches, against the one PostgreSQL logs. Every line pgtunnel accepts must be
// accepted by PostgreSQL at the same file and line, and every line PostgreSQL refuses must be
// refused by pgtunnel; lines only pgtunnel refuses must be ones it cannot enforce, or forms it
// reads more strictly on purpose.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chownSync, cpSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { diskFiles } from '../../src/config/file-source.js';
import { parseHba } from '../../src/hba/parse.js';
import { HbaConfigError, type HbaProblem } from '../../src/hba/problems.js';
import { certificateNames } from '../../src/tls/distinguished-name.js';
import { runPsql } from '../helpers/clients.js';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { clientWithSubject } from '../helpers/subject-certificate.js';

const fixtures = fileURLToPath(new URL('../fixtures/hba/', import.meta.url));

/** Lines of bad/errors.conf PostgreSQL accepts but pgtunnel refuses as a syntax error, and why. */
const STRICTER: Record<number, string> = {
  12: 'glibc reads "10.1" as 10.0.0.1',
  13: 'glibc reads the mask "255.255.0" as 255.255.0.0',
  19: 'IPv6 zone indexes',
  50: 'ARE embedded options other than (?i)',
  51: 'ARE escapes JavaScript does not have',
};

/**
 * PostgreSQL's note on a line it keeps although it never matches. (ssl is on in the cluster:
 * with it off, the "hostssl record cannot match" note would hide the real error of a line.)
 */
const KEPT_WITH_NOTE = /^hostgssenc record cannot match because/;

interface PgLine {
  file: string;
  line: number;
  accepted: boolean;
  error: string | null;
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (statSync(path).isDirectory()) {
    for (const entry of readdirSync(path)) chownTree(join(path, entry), uid, gid);
  }
}

describe('pg_hba.conf parsing agrees with PostgreSQL 18', () => {
  let cluster: Cluster;
  let pki: TestPki;

  before(async () => {
    pki = await createTestPki();
    cluster = await startCluster({
      flavor: 'embedded',
      ssl: { certFile: pki.serverCert, keyFile: pki.serverKey, caFile: pki.caBundle },
    });
    const target = join(cluster.dataDir, 'fx');
    cpSync(fixtures, target, { recursive: true });
    const owner = statSync(cluster.dataDir);
    chownTree(target, owner.uid, owner.gid);
  });

  after(async () => {
    await cluster?.stop();
    await pki?.cleanup();
  });

  /** pg_hba_file_rules for `include fx/<file>` (read fresh by each query, no reload needed). */
  async function postgresView(file: string): Promise<PgLine[]> {
    const hbaPath = join(cluster.dataDir, 'pg_hba.conf');
    const original = readFileSync(hbaPath, 'utf8');
    // Keep the superuser's own access first, then the file under test.
    await cluster.setHba(`local all postgres trust\ninclude fx/${file}\n`);
    try {
      const out = await cluster.sql(
        // A parsed line has a type: for a bad clientcert= or clientname= value PostgreSQL
        // refuses the file but the view shows a numbered rule with no type and no error.
        'SELECT file_name, line_number, rule_number IS NOT NULL AND type IS NOT NULL, ' +
          "coalesce(error, '') " +
          'FROM pg_hba_file_rules ORDER BY line_number',
      );
      return out
        .split('\n')
        .filter((row) => row !== '')
        .map((row) => {
          const [name, line, accepted, error] = row.split('|');
          return {
            file: relative(join(cluster.dataDir, 'fx'), name ?? ''),
            line: Number(line),
            accepted: accepted === 't' || KEPT_WITH_NOTE.test(error ?? ''),
            error: error === '' ? null : (error ?? null),
          };
        })
        .filter((row) => !row.file.startsWith('..'));
    } finally {
      await cluster.setHba(original);
    }
  }

  function ours(file: string): { accepted: Set<string>; problems: HbaProblem[] } {
    const path = join(fixtures, file);
    try {
      const { rules } = parseHba(readFileSync(path, 'utf8'), path, { reader: diskFiles });
      return {
        accepted: new Set(rules.map((r) => `${relative(fixtures, r.file)}:${r.line}`)),
        problems: [],
      };
    } catch (error) {
      assert.ok(error instanceof HbaConfigError);
      return { accepted: new Set(), problems: [...error.problems] };
    }
  }

  test('main.conf: the same lines, files and line numbers load in both', async () => {
    const pg = await postgresView('main.conf');
    const pgAccepted = pg.filter((l) => l.accepted).map((l) => `${l.file}:${l.line}`);
    assert.deepEqual(
      pg.filter((l) => !l.accepted),
      [],
    );
    assert.deepEqual(new Set(pgAccepted), ours('main.conf').accepted);
    assert.equal(pgAccepted.length, 29);
  });

  test('bad/errors.conf: pgtunnel refuses everything PostgreSQL refuses, and more only on purpose', async () => {
    const pg = await postgresView('bad/errors.conf');
    const byLine = new Map(ours('bad/errors.conf').problems.map((p) => [p.line, p]));
    assert.ok(pg.length >= 50, `PostgreSQL reported only ${pg.length} lines`);
    for (const line of pg) {
      const problem = byLine.get(line.line);
      if (!line.accepted) {
        assert.ok(
          problem,
          `line ${line.line}: PostgreSQL refuses (${line.error}), pgtunnel accepts`,
        );
        continue;
      }
      if (line.line === 2) {
        assert.equal(problem, undefined, 'line 2 is the one good line');
        continue;
      }
      assert.ok(problem, `line ${line.line}: both accept a line the fixture says is bad`);
      assert.ok(
        problem.code === 'ERR_HBA_UNSUPPORTED' || STRICTER[line.line] !== undefined,
        `line ${line.line}: PostgreSQL accepts it but pgtunnel calls it a syntax error: ${problem.message}`,
      );
    }
  });

  test('clientname=DN: the gateway reads the same DN PostgreSQL authenticates', async () => {
    const subjects = [
      '/C=FR/O=Acme, Inc./OU=Eng+UID=u1/CN=Zoë "Z" <x>;\\ a #',
      '/DC=org/DC=example/CN=#lead/emailAddress=ops@example.org',
    ];
    const identPath = join(cluster.dataDir, 'pg_ident.conf');
    const hbaPath = join(cluster.dataDir, 'pg_hba.conf');
    const original = { ident: readFileSync(identPath, 'utf8'), hba: readFileSync(hbaPath, 'utf8') };
    // A map that matches nothing makes PostgreSQL log the DN it compared.
    writeFileSync(identPath, 'bydn /^matches-nothing$ dn_user\n');
    await cluster.sql('CREATE ROLE dn_user LOGIN');
    await cluster.setHba(
      'local all postgres trust\nhostssl all all 127.0.0.1/32 cert clientname=DN map=bydn\n',
    );
    try {
      for (const [index, subject] of subjects.entries()) {
        const client = await clientWithSubject(pki, `dn-${index}`, subject);
        const result = await runPsql({
          conninfo: `host=localhost port=${cluster.port} user=dn_user dbname=postgres sslmode=verify-full sslrootcert=${pki.caBundle} sslcert=${client.cert} sslkey=${client.key}`,
        });
        assert.match(result.stderr, /certificate authentication failed for user "dn_user"/);
        const ours = certificateNames(new X509Certificate(readFileSync(client.leaf))).subjectDn;
        const logged = [
          ...cluster.log().matchAll(/for user "dn_user" authenticated as "(.*)"\n/g),
        ].map((m) => m[1]);
        assert.equal(logged.at(-1), ours, `subject ${subject}`);
      }
    } finally {
      writeFileSync(identPath, original.ident);
      await cluster.setHba(original.hba);
    }
  });
});
