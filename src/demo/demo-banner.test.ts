// The demo's closing words: the proof it made itself, which leg pg_stat_ssl describes, and
// psql's install command for this system when psql is missing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { demoBanner } from './demo-banner.js';
import { psqlInstallCommand } from './psql-hint.js';

const facts = {
  addresses: ['127.0.0.1:6432'],
  conninfo: 'host=localhost port=6432 sslmode=verify-full sslrootcert=/tmp/x/root.crt',
  version: '18',
  probe: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', serverSideSsl: false },
  portNote: undefined,
  psql: '/usr/bin/psql',
  psqlHint: 'psql is not installed: sudo apt-get install postgresql-client',
};

describe('demo banner', () => {
  it('says the verify-full check passed and that pg_stat_ssl is the gateway’s leg', () => {
    const text = demoBanner(facts);
    assert.match(text, /sslmode=verify-full \(TLSv1\.3, TLS_AES_256_GCM_SHA384\)/);
    assert.match(
      text,
      /pg_stat_ssl shows ssl = f .* pg_stat_ssl describes the connection\nPostgreSQL itself accepted, the gateway's own/,
    );
    assert.match(text, /psql "host=localhost port=6432 sslmode=verify-full/);
    assert.doesNotMatch(text, /not installed/);
  });
  it('tells how to install psql when it is missing, and a failed check', () => {
    const text = demoBanner({ ...facts, psql: undefined, probe: new Error('boom') });
    assert.match(text, /psql is not installed: sudo apt-get install postgresql-client/);
    assert.match(text, /Checking a connection through the gateway failed: boom/);
  });
  it('passes on why the port differs', () => {
    assert.match(demoBanner({ ...facts, portNote: 'Port 6432 is in use' }), /Port 6432 is in use/);
  });
});

describe('psql install command by os-release', () => {
  const cases: Array<[string, string | undefined]> = [
    ['ID=debian\n', 'sudo apt-get install postgresql-client'],
    ['ID=ubuntu\nID_LIKE=debian\n', 'sudo apt-get install postgresql-client'],
    ['ID=linuxmint\nID_LIKE="ubuntu debian"\n', 'sudo apt-get install postgresql-client'],
    ['ID="rocky"\nID_LIKE="rhel centos fedora"\n', 'sudo dnf install postgresql'],
    ['ID=alpine\n', 'sudo apk add postgresql-client'],
    ['ID=arch\n', 'sudo pacman -S postgresql-libs'],
    ['ID="opensuse-leap"\nID_LIKE="suse opensuse"\n', 'sudo zypper install postgresql'],
    ['ID=plan9\n', undefined],
    ['', undefined],
  ];
  for (const [osRelease, expected] of cases) {
    it(`${JSON.stringify(osRelease)} → ${expected}`, () => {
      assert.equal(psqlInstallCommand(osRelease), expected);
    });
  }
});
