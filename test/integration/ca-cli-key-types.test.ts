// `pgtunnel ca` with each key type: every artefact the CLI writes passes the real `openssl verify`
// and `openssl crl`; `list` reports the index and `inspect` the certificate fields.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { caOk, openssl } from '../helpers/ca-cli.js';

const KEY_NAMES = { 'ecdsa-p256': 'ECDSA P-256', rsa3072: 'RSA 3072', ed25519: 'Ed25519' } as const;

for (const [keyType, keyName] of Object.entries(KEY_NAMES)) {
  describe(`pgtunnel ca with --key-type ${keyType}`, () => {
    let work: string;
    let caDir: string;
    const file = (name: string) => join(work, name);

    before(async () => {
      work = await mkdtemp(join(tmpdir(), `pgtunnel-ca-${keyType}-`));
      caDir = join(work, 'ca');
      const common = ['--ca-dir', caDir, '--key-type', keyType];
      await caOk(['init', ...common, '--cn', 'Example Root', '--org', 'Example Ltd']);
      await caOk(['intermediate', ...common]);
      // Issued in parallel: the CA directory's lock serializes them.
      await Promise.all([
        caOk([
          'issue',
          'server',
          ...common,
          '--cn',
          'db.example.test',
          '--san',
          'IP:192.0.2.7,::1',
          '--cert-file',
          file('db.crt'),
          '--key-file',
          file('db.key'),
        ]),
        caOk([
          'issue',
          'client',
          ...common,
          '--cn',
          'app_user',
          '--days',
          '30',
          '--cert-file',
          file('app.crt'),
          '--key-file',
          file('app.key'),
        ]),
      ]);
    });
    after(async () => {
      await rm(work, { recursive: true, force: true });
    });

    it('writes chains openssl verifies for their purpose, host names and CRLs', async () => {
      const base = [
        'verify',
        '-CAfile',
        join(caDir, 'root', 'ca.crt'),
        '-untrusted',
        join(caDir, 'intermediate', 'ca.crt'),
        '-crl_check_all',
        '-CRLfile',
        join(caDir, 'crl-bundle.pem'),
      ];
      for (const args of [
        ['-purpose', 'sslserver', '-verify_hostname', 'db.example.test', file('db.crt')],
        ['-purpose', 'sslserver', '-verify_ip', '192.0.2.7', file('db.crt')],
        ['-purpose', 'sslserver', '-verify_ip', '::1', file('db.crt')],
        ['-purpose', 'sslclient', file('app.crt')],
      ]) {
        const result = await openssl([...base, ...args]);
        assert.equal(result.code, 0, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
      }
      for (const key of ['db.key', 'app.key']) {
        assert.equal((await stat(file(key))).mode & 0o777, 0o600, key);
        const parsed = await openssl(['pkey', '-in', file(key), '-noout']);
        assert.equal(parsed.code, 0, parsed.stderr);
      }
      for (const level of ['root', 'intermediate']) {
        const crl = await openssl([
          'crl',
          '-in',
          join(caDir, level, 'crl.pem'),
          '-CAfile',
          join(caDir, 'ca-bundle.crt'),
          '-noout',
        ]);
        assert.match(crl.stdout + crl.stderr, /verify OK/, level);
      }
    });

    it('inspects a chain: subject, SANs, issuer, serial, validity, days left, key type', async () => {
      const text = await caOk(['inspect', file('db.crt')]);
      const serial = (await openssl(['x509', '-in', file('db.crt'), '-noout', '-serial'])).stdout
        .trim()
        .replace(/^serial=/, '')
        .toLowerCase();
      assert.match(text, /certificate 1 of 2/);
      assert.match(text, /subject: +CN=db\.example\.test\n/);
      assert.match(text, /SANs: +DNS:db\.example\.test, IP:192\.0\.2\.7, IP:::1\n/);
      assert.match(text, /issuer: +CN=pgtunnel Intermediate CA\n/);
      assert.match(text, new RegExp(`serial: +${serial}\\n`));
      assert.match(text, /not after: +\S+ \(39[67] days left\)/);
      assert.match(text, new RegExp(`key type: +${keyName}\\n`));
      assert.match(text, /use: +serverAuth\n/);
      assert.match(
        text,
        /certificate 2 of 2[\s\S]*issuer: +O=Example Ltd, CN=Example Root\n[\s\S]*use: +CA, path length 0/,
      );

      const key = await caOk(['inspect', file('app.key')]);
      assert.match(key, new RegExp(`private key\\n +key type: +${keyName}\\n +encrypted: +no`));

      const json = JSON.parse(await caOk(['inspect', '--json', file('app.crt')])) as {
        daysLeft: number;
        extendedKeyUsage: string[];
      }[];
      assert.equal(json[0]?.daysLeft, 30);
      assert.deepEqual(json[0]?.extendedKeyUsage, ['clientAuth']);
    });

    it('lists every certificate with its kind and status, and revokes by serial', async () => {
      type Entry = {
        serial: string;
        kind: string;
        commonName: string;
        keyType: string;
        revokedAt?: string;
      };
      const entries = JSON.parse(await caOk(['list', '--ca-dir', caDir, '--json'])) as Entry[];
      assert.deepEqual(entries.map((e) => e.kind).sort(), [
        'client',
        'intermediate',
        'root',
        'server',
      ]);
      assert.ok(entries.every((e) => e.keyType === keyType));
      const client = entries.find((e) => e.kind === 'client')!;
      assert.equal(client.commonName, 'app_user');

      await caOk([
        'revoke',
        '--ca-dir',
        caDir,
        client.serial.toUpperCase().replace(/(..)(?!$)/g, '$1:'),
      ]);
      const table = await caOk(['list', '--ca-dir', caDir]);
      assert.match(
        table,
        new RegExp(`${client.serial} +client +CN=app_user +\\S+ +revoked \\d{4}-\\d\\d-\\d\\d`),
      );
      assert.match(table, /server +CN=db\.example\.test +\S+ +valid, 39[67] days left/);
      const crl = await caOk(['inspect', join(caDir, 'crl-bundle.pem')]);
      assert.match(crl, new RegExp(`crl 2 of 2[\\s\\S]*revoked: +${client.serial} at `));
      const verify = await openssl([
        'verify',
        '-CAfile',
        join(caDir, 'ca-bundle.crt'),
        '-crl_check_all',
        '-CRLfile',
        join(caDir, 'crl-bundle.pem'),
        file('app.crt'),
      ]);
      assert.notEqual(verify.code, 0);
      assert.match(verify.stdout + verify.stderr, /certificate revoked/);
      assert.match(
        await readFile(join(caDir, 'crl-bundle.pem'), 'utf8'),
        /^-----BEGIN X509 CRL-----/,
      );
    });
  });
}
