// The examples the documentation marks as runnable, run as a reader would: shell blocks with
// bash, `pgtunnel` (the built command) and psql on PATH, each in its own empty HOME and
// directory; API blocks as ES modules importing `pgtunnel`, `pg` and `postgres`. Against real
// parts: a PostgreSQL, an OpenSSH sshd that knows the reader's key, and a gateway in front of
// the PostgreSQL. The documents' PostgreSQL ('host=/var/run/postgresql port=5432') is this
// test's, and the API examples read where things are from the variables they document (DB_SSH,
// DB_PORT, DB_CONNINFO, DB_UPSTREAM, PKI_DIR). An example that breaks fails here.
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clientBinary } from '../../src/demo/postgres-binaries.js';
import { projectExamples } from '../helpers/doc-examples.js';
import { type PgtunnelProcess, PROJECT_ROOT, startPgtunnel } from '../helpers/pgtunnel-process.js';
import { createTestPki, type TestPki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { run } from '../helpers/run.js';
import { type SshScene, startSshScene } from '../helpers/sshd.js';

const DOCUMENTED_UPSTREAM = 'host=/var/run/postgresql port=5432';
const examples = projectExamples(PROJECT_ROOT);

describe('documentation examples', () => {
  let dir: string;
  let scene: SshScene;
  let pki: TestPki;
  let gateway: PgtunnelProcess;
  let gatewayPort: number;
  let upstream: string;
  let counter = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pgtunnel-docs-'));
    // The package, built into a directory of this test's own (the checkout's dist/ may be
    // rebuilt by another test meanwhile): an incremental build kept in node_modules/.cache, as
    // build tools keep theirs, so an unchanged tree is not compiled again. Its dependencies are
    // the checkout's.
    const pkg = join(dir, 'pgtunnel');
    const dist = join(PROJECT_ROOT, 'node_modules', '.cache', 'pgtunnel-docs-examples', 'dist');
    mkdirSync(pkg);
    copyFileSync(join(PROJECT_ROOT, 'package.json'), join(pkg, 'package.json'));
    symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(pkg, 'node_modules'));
    symlinkSync(dist, join(pkg, 'dist'));
    const tsc = join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const built = await run(
      process.execPath,
      [
        tsc,
        '-p',
        join(PROJECT_ROOT, 'tsconfig.build.json'),
        '--outDir',
        dist,
        '--tsBuildInfoFile',
        join(dist, '.tsbuildinfo'),
      ],
      { cwd: PROJECT_ROOT, timeoutMs: 600_000 },
    );
    assert.equal(built.code, 0, built.stdout + built.stderr);
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(
      join(bin, 'pgtunnel'),
      `#!/bin/sh\nexec "${process.execPath}" "${join(pkg, 'dist', 'cli', 'main.js')}" "$@"\n`,
      { mode: 0o755 },
    );
    // API examples import the package by name, as an application does.
    const modules = join(dir, 'api', 'node_modules');
    mkdirSync(modules, { recursive: true });
    symlinkSync(pkg, join(modules, 'pgtunnel'));
    for (const name of ['pg', 'postgres']) {
      symlinkSync(join(PROJECT_ROOT, 'node_modules', name), join(modules, name));
    }
    [scene, pki] = await Promise.all([startSshScene('docs'), createTestPki()]);
    upstream = `host=${scene.cluster.socketDir} port=${scene.cluster.port}`;
    gatewayPort = await freePort();
    gateway = await startPgtunnel([
      'serve',
      '--upstream',
      upstream,
      '--ssl-cert-file',
      pki.serverCert,
      '--ssl-key-file',
      pki.serverKey,
      '--listen-addresses',
      '127.0.0.1',
      '-p',
      String(gatewayPort),
    ]);
    // The API's gateway example reads server.crt, server.key and root.crt from PKI_DIR.
    const pkiDir = join(dir, 'pki');
    mkdirSync(pkiDir);
    copyFileSync(pki.serverCert, join(pkiDir, 'server.crt'));
    copyFileSync(pki.serverKey, join(pkiDir, 'server.key'));
    chmodSync(join(pkiDir, 'server.key'), 0o600);
    copyFileSync(pki.rootCert, join(pkiDir, 'root.crt'));
  });
  after(async () => {
    await gateway?.stop('SIGINT');
    await scene?.stop();
    await pki?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('finds the marked examples (shell and API)', () => {
    assert.ok(examples.filter((e) => e.kind === 'shell').length >= 4, 'shell examples');
    assert.ok(examples.filter((e) => e.kind === 'api').length >= 4, 'API examples');
  });

  for (const example of examples) {
    it(`${example.kind} example at ${example.location} runs`, async () => {
      const n = ++counter;
      if (example.kind === 'shell') {
        const home = join(dir, `home-${n}`);
        const work = join(dir, `work-${n}`);
        mkdirSync(home);
        mkdirSync(work);
        mkdirSync(join(dir, `run-${n}`));
        const result = await run(
          'bash',
          ['-e', '-o', 'pipefail', '-c', example.code.replaceAll(DOCUMENTED_UPSTREAM, upstream)],
          {
            cwd: work,
            env: {
              PATH: `${join(dir, 'bin')}:${dirname(clientBinary('psql'))}:/usr/bin:/bin`,
              HOME: home,
              LANG: 'C',
              PGUSER: 'postgres',
              XDG_RUNTIME_DIR: join(dir, `run-${n}`),
            },
            timeoutMs: 300_000,
          },
        );
        assert.equal(result.code, 0, `${example.location}:\n${result.stdout}\n${result.stderr}`);
      } else {
        const file = join(dir, 'api', `example-${n}.mjs`);
        writeFileSync(file, example.code);
        const result = await run(process.execPath, [file], {
          cwd: join(dir, 'api'),
          env: {
            PATH: process.env.PATH,
            HOME: scene.home,
            LANG: 'C',
            DB_SSH: `ssh://${scene.sshd.user}@127.0.0.1:${scene.sshd.port}`,
            DB_PORT: String(scene.cluster.port),
            DB_CONNINFO: `host=localhost port=${gatewayPort} sslmode=verify-full sslrootcert=${pki.caBundle}`,
            DB_UPSTREAM: upstream,
            PKI_DIR: join(dir, 'pki'),
          },
          timeoutMs: 120_000,
        });
        assert.equal(result.code, 0, `${example.location}:\n${result.stdout}\n${result.stderr}`);
        assert.notEqual(result.stdout.trim(), '', `${example.location} printed nothing`);
      }
    });
  }
});
