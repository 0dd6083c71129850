// The package as users get it: `npm pack` (which builds dist/ through the package's own
// `prepare` script), `npm install -g` of the tarball into a temporary prefix, and the
// `pgtunnel` command from PATH, outside the checkout: --version, ca init, serve --check against
// a real PostgreSQL; and the library entry point with its type declarations.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Cluster, startCluster } from '../helpers/pg-cluster.js';
import { PROJECT_ROOT } from '../helpers/pgtunnel-process.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { run } from '../helpers/run.js';

describe('installed from the npm pack tarball', () => {
  let dir: string;
  let prefix: string;
  let cluster: Cluster;
  let pki: TestPki;
  const env = () => ({
    PATH: `${join(prefix, 'bin')}:${process.env.PATH}`,
    HOME: join(dir, 'home'),
    LANG: 'C',
  });
  const pgtunnel = (args: string[]) =>
    run('pgtunnel', args, { env: env(), cwd: dir, timeoutMs: 120_000 });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pgtunnel-pack-'));
    prefix = join(dir, 'prefix');
    [cluster, pki] = await Promise.all([startCluster(), createTestPki()]);
    const packed = await run('npm', ['pack', '--silent', '--pack-destination', dir], {
      cwd: PROJECT_ROOT,
      timeoutMs: 600_000,
    });
    assert.equal(packed.code, 0, packed.stderr);
    const tarball = readdirSync(dir).find((file) => /^pgtunnel-.*\.tgz$/.test(file));
    assert.ok(tarball, `no tarball in ${dir}: ${packed.stdout}`);
    const installed = await run(
      'npm',
      [
        'install',
        '-g',
        '--prefix',
        prefix,
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        // the PostgreSQL 18 binaries (60 MB, only for the demo without a system PostgreSQL)
        // and the optional native SSH speed-ups are not needed by the commands run here
        '--omit=optional',
        '--ignore-scripts',
        join(dir, tarball),
      ],
      { cwd: dir, timeoutMs: 600_000 },
    );
    assert.equal(installed.code, 0, installed.stderr);
  });
  after(async () => {
    await cluster?.stop();
    await pki?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('puts pgtunnel on PATH, with the built files and no tests or sources', async () => {
    const root = join(prefix, 'lib', 'node_modules', 'pgtunnel');
    assert.ok(existsSync(join(root, 'dist', 'cli', 'main.js')));
    assert.ok(existsSync(join(root, 'dist', 'api', 'index.d.ts')), 'type declarations');
    assert.equal(existsSync(join(root, 'src')), false);
    assert.equal(existsSync(join(root, 'dist', 'cli', 'command-table.test.js')), false);
    assert.equal(existsSync(join(root, 'dist', '.tsbuildinfo')), false);
    const version = await pgtunnel(['--version']);
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout.trim(), '0.1.0');
  });

  it('runs ca init', async () => {
    const init = await pgtunnel(['ca', 'init', '--ca-dir', join(dir, 'ca')]);
    assert.equal(init.code, 0, init.stderr);
    assert.ok(existsSync(join(dir, 'ca')));
  });

  it('runs serve --check against a real PostgreSQL, and fails when it is not there', async () => {
    const args = (upstream: string) => [
      'serve',
      '--ssl-cert-file',
      pki.serverCert,
      '--ssl-key-file',
      pki.serverKey,
      '--upstream',
      upstream,
      '--check',
    ];
    const ok = await pgtunnel(args(`host=${cluster.socketDir} port=${cluster.port}`));
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /checked: upstream .* answered as PostgreSQL/);
    assert.match(ok.stdout, /configuration OK/);
    const down = await pgtunnel(args('host=127.0.0.1 port=1 connect_timeout=5'));
    assert.equal(down.code, 1);
    assert.match(down.stdout, /FAILED: upstream could not be reached/);
  });

  it('imports as a library with its exports map', async () => {
    const script =
      "import('pgtunnel').then((m) => console.log(typeof m.openSshTunnel, typeof m.openTlsTunnel, typeof m.startGateway, typeof m.PgTunnelError))";
    const imported = await run(process.execPath, ['-e', script], {
      env: { ...env(), NODE_PATH: join(prefix, 'lib', 'node_modules') },
      cwd: join(prefix, 'lib'),
    });
    assert.equal(imported.code, 0, imported.stderr);
    assert.equal(imported.stdout.trim(), 'function function function function');
  });
});
