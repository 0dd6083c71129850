// Client certificates with any subject (openssl -subj syntax, multi-valued RDNs and UTF-8
// allowed), signed by the test intermediate CA with openssl: our own CA only writes O and CN.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { caLayout } from '../../src/ca/layout.js';
import type { TestPki } from './pki.js';
import { run } from './run.js';

let serial = Date.now();

/** Writes `<name>.crt` (leaf, then intermediate, as psql wants), `<name>.key` (0600), `.leaf`. */
export async function clientWithSubject(
  pki: TestPki,
  name: string,
  subject: string,
): Promise<{ cert: string; key: string; leaf: string }> {
  const ca = caLayout(join(pki.dir, 'ca')).level('intermediate');
  const dir = join(pki.dir, 'subject-clients');
  mkdirSync(dir, { recursive: true });
  const base = join(dir, name);
  const openssl = async (args: string[]) => {
    const result = await run('openssl', args);
    assert.equal(result.code, 0, result.stderr);
  };
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${base}.key`]);
  chmodSync(`${base}.key`, 0o600);
  await openssl([
    'req',
    '-new',
    '-key',
    `${base}.key`,
    '-utf8',
    '-multivalue-rdn',
    '-subj',
    subject,
    '-out',
    `${base}.csr`,
  ]);
  await openssl([
    'x509',
    '-req',
    '-in',
    `${base}.csr`,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-days',
    '1',
    '-set_serial',
    String(++serial),
    '-out',
    `${base}.leaf`,
  ]);
  writeFileSync(
    `${base}.crt`,
    readFileSync(`${base}.leaf`, 'utf8') + readFileSync(ca.cert, 'utf8'),
  );
  return { cert: `${base}.crt`, key: `${base}.key`, leaf: `${base}.leaf` };
}
