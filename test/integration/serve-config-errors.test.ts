// A bad configuration is refused before anything listens, with the file and line (or the
// flag) and what to fix; the exit status is 3. Private keys are checked as PostgreSQL does.
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cliArgs } from '../helpers/pgtunnel-process.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { run } from '../helpers/run.js';

describe('serve: configuration errors', () => {
  let pki: TestPki;
  let dir: string;
  before(async () => {
    pki = await createTestPki();
    dir = mkdtempSync(join(tmpdir(), 'pgtunnel-conf-'));
  });
  after(async () => {
    await pki?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const serve = (args: string[]) => run(process.execPath, cliArgs(['serve', ...args]), {});
  const base = () => [
    '--ssl-cert-file',
    pki.serverCert,
    '--ssl-key-file',
    pki.serverKey,
    '--upstream',
    'host=127.0.0.1 port=1',
  ];

  it('names file and line of an invalid value', async () => {
    const file = join(dir, 'bad-value.conf');
    writeFileSync(file, "# pgtunnel\nlisten_addresses = 'localhost'\nport = 'abc'\n");
    const result = await serve(['--config', file, ...base()]);
    assert.equal(result.code, 3);
    assert.match(
      result.stderr,
      new RegExp(`${file}:3: invalid value for parameter "port": "abc": requires an integer value`),
    );
  });

  it('names file and line of an unknown parameter', async () => {
    const file = join(dir, 'unknown.conf');
    writeFileSync(file, "ssl = on\nshared_buffers = '1GB'\n");
    const result = await serve(['--config', file, ...base()]);
    assert.equal(result.code, 3);
    assert.match(
      result.stderr,
      new RegExp(`${file}:2: unrecognized configuration parameter "shared_buffers"`),
    );
  });

  it('reports an unterminated string with its line', async () => {
    const file = join(dir, 'syntax.conf');
    writeFileSync(file, "\n\nssl_ciphers = 'HIGH\n");
    const result = await serve(['--config', file, ...base()]);
    assert.equal(result.code, 3);
    assert.match(result.stderr, new RegExp(`${file}:3: unterminated quoted string`));
  });

  it('refuses a private key readable by others, as PostgreSQL does', async () => {
    const key = join(dir, 'open.key');
    copyFileSync(pki.serverKey, key);
    chmodSync(key, 0o644);
    const result = await serve([
      '--ssl-cert-file',
      pki.serverCert,
      '--ssl-key-file',
      key,
      '--upstream',
      'host=127.0.0.1 port=1',
    ]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /private key file ".*open\.key" has group or world access/);
    assert.match(result.stderr, /chmod 600/);
    assert.doesNotMatch(result.stderr, /BEGIN/);
  });

  it('refuses a key that does not belong to the certificate', async () => {
    const other = await pki.client('someone');
    const result = await serve([
      '--ssl-cert-file',
      pki.serverCert,
      '--ssl-key-file',
      other.key,
      '--upstream',
      'host=127.0.0.1 port=1',
    ]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /does not match server certificate file/);
  });

  it('refuses a missing certificate file', async () => {
    const result = await serve([
      '--ssl-cert-file',
      join(dir, 'nope.crt'),
      '--ssl-key-file',
      pki.serverKey,
      '--upstream',
      'host=127.0.0.1 port=1',
    ]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /could not load server certificate file ".*nope\.crt"/);
  });

  it('refuses -c with an unknown name, naming the flag', async () => {
    const result = await serve([...base(), '-c', 'nonsense=1']);
    assert.equal(result.code, 3);
    assert.match(
      result.stderr,
      /unrecognized configuration parameter "nonsense" \(given as -c nonsense=1\)/,
    );
  });

  it('decrypts an encrypted key with ssl_passphrase_command, and refuses a wrong passphrase', async () => {
    const encrypted = join(dir, 'encrypted.key');
    const made = await run('openssl', [
      'pkey',
      '-in',
      pki.serverKey,
      '-aes256',
      '-passout',
      'pass:s3cret',
      '-out',
      encrypted,
    ]);
    assert.equal(made.code, 0, made.stderr);
    chmodSync(encrypted, 0o600);
    const args = (command: string) => [
      '--ssl-cert-file',
      pki.serverCert,
      '--ssl-key-file',
      encrypted,
      '--ssl-passphrase-command',
      command,
      '--upstream',
      'host=127.0.0.1 port=1',
      '--check',
      '--skip-upstream',
    ];
    const ok = await serve(args('echo s3cret'));
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /configuration OK/);
    const wrong = await serve(args('echo wrong'));
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /could not load private key file .*passphrase .* is wrong/);
    assert.doesNotMatch(wrong.stderr, /s3cret|wrong\b.*BEGIN/);
    const none = await serve([
      '--ssl-cert-file',
      pki.serverCert,
      '--ssl-key-file',
      encrypted,
      '--upstream',
      'host=127.0.0.1 port=1',
      '--check',
    ]);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /is encrypted: set ssl_passphrase_command/);
  });

  it('refuses to start with an hba rule it cannot enforce, naming file and line', async () => {
    const hba = join(dir, 'pg_hba.conf');
    writeFileSync(
      hba,
      'local all all trust\nhostssl all +admins 10.0.0.0/8 scram-sha-256\nhost all all 0.0.0.0/0 ldap ldapserver=x\n',
    );
    const result = await serve([...base(), '--hba-file', hba]);
    assert.equal(result.code, 3);
    assert.match(result.stderr, new RegExp(`${hba}:2: .*\\+admins`));
    assert.match(result.stderr, new RegExp(`${hba}:3: .*ldap`));
  });

  it('refuses cert and clientcert= rules when no ssl_ca_file can verify certificates', async () => {
    const hba = join(dir, 'pg_hba-cert.conf');
    writeFileSync(
      hba,
      'local all all trust\nhostssl all all 10.0.0.0/8 cert\nhostssl all all all md5 clientcert=verify-full\n',
    );
    const result = await serve([...base(), '--hba-file', hba]);
    assert.equal(result.code, 3);
    assert.match(
      result.stderr,
      new RegExp(
        `${hba}:2: cert authentication needs ssl_ca_file: client certificates can only be checked if a root certificate store is available`,
      ),
    );
    assert.match(result.stderr, new RegExp(`${hba}:3: clientcert=verify-full needs ssl_ca_file`));
    const withCa = await serve([
      ...base(),
      '--hba-file',
      hba,
      '--ssl-ca-file',
      pki.caBundle,
      '--check',
      '--skip-upstream',
    ]);
    assert.equal(withCa.code, 0, withCa.stderr);
  });

  it('refuses an ssl_ca_file that holds no usable certificate', async () => {
    const empty = join(dir, 'empty-ca.crt');
    writeFileSync(empty, 'not a certificate\n');
    const broken = join(dir, 'broken-ca.crt');
    writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    for (const [file, reason] of [
      [empty, 'no certificate or crl found'],
      [broken, 'certificate 1: '],
    ] as const) {
      const result = await serve([...base(), '--ssl-ca-file', file, '--check']);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        new RegExp(`could not load root certificate file "${file}": ${reason}`),
      );
    }
  });

  it('requires an upstream when a configuration is given', async () => {
    const file = join(dir, 'no-upstream.conf');
    writeFileSync(file, `ssl_cert_file = '${pki.serverCert}'\nssl_key_file = '${pki.serverKey}'\n`);
    const result = await serve(['--config', file]);
    assert.equal(result.code, 3);
    assert.match(result.stderr, /upstream is not set/);
  });
});
