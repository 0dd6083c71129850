// watch_files on a real file system: the replacements cert-manager (a swapped `..data` symlink)
// and certbot (a new symlink in live/) make, files pulled in by includes of the configuration
// file and of pg_hba.conf, a target rewritten in place behind a symlink, and paths that change
// with a reload.
import assert from 'node:assert/strict';
import {
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { recording } from '../config/file-source.js';
import { loadConfig } from '../config/load.js';
import { tokenizeAuthFile } from '../hba/tokenize.js';
import { watchFiles, watchList } from './file-watch.js';

const root = mkdtempSync(join(tmpdir(), 'pgtunnel-watch-'));
let counter = 0;
const stops: Array<() => void> = [];

function scratch(): string {
  const dir = join(root, `t${++counter}`);
  mkdirSync(dir);
  return dir;
}

/**
 * The watch list of one load of `configFile`: the hba and ident files are read through a
 * recording source, as the gateway's load reads them (config-snapshot.ts).
 */
function loadWatchList(configFile: string) {
  const config = loadConfig({ configFile });
  const auth = recording();
  for (const path of [config.settings.hba_file, config.settings.ident_file]) {
    if (path === '') continue;
    try {
      tokenizeAuthFile(auth.source.readFile(path), path, { reader: auth.source });
    } catch {
      // a missing file is still recorded, so its appearance is noticed
    }
  }
  return watchList(config, auth.read);
}

/** Starts watching what `configText` reads; counts reloads. */
function watchConfig(dir: string, configText: () => string) {
  const configFile = join(dir, 'pgtunnel.conf');
  writeFileSync(configFile, configText());
  const reloads = { count: 0 };
  stops.push(
    watchFiles(
      () => loadWatchList(configFile),
      async () => {
        reloads.count++;
      },
    ),
  );
  return reloads;
}

async function settle(): Promise<void> {
  await delay(100); // let the watchers start
}

/** Waits for the reload (no deadline: the runner's per-file limit catches a missing one). */
async function expectReload(reloads: { count: number }, before: number): Promise<void> {
  while (reloads.count === before) await delay(50);
  await delay(400); // let the debounce and the re-arming finish
}

async function expectNoReload(reloads: { count: number }, before: number): Promise<void> {
  await delay(800);
  assert.equal(reloads.count, before, 'an unrelated change asked for a reload');
}

describe('watch_files', () => {
  afterEach(() => {
    for (const stop of stops.splice(0)) stop();
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('sees a Kubernetes secret update: the `..data` symlink swapped to a new directory', async () => {
    const dir = scratch();
    const volume = join(dir, 'tls');
    mkdirSync(join(volume, '..2024_01_01'), { recursive: true });
    writeFileSync(join(volume, '..2024_01_01', 'tls.crt'), 'one');
    symlinkSync('..2024_01_01', join(volume, '..data'));
    symlinkSync('..data/tls.crt', join(volume, 'tls.crt'));
    const reloads = watchConfig(dir, () => `ssl_cert_file = 'tls/tls.crt'\n`);
    await settle();

    // What the kubelet does: new directory, temporary link, rename over ..data, old one removed.
    mkdirSync(join(volume, '..2024_02_01'));
    writeFileSync(join(volume, '..2024_02_01', 'tls.crt'), 'two');
    symlinkSync('..2024_02_01', join(volume, '..data_tmp'));
    renameSync(join(volume, '..data_tmp'), join(volume, '..data'));
    rmSync(join(volume, '..2024_01_01'), { recursive: true });
    await expectReload(reloads, 0);

    // The new target directory is watched after the reload: an in-place rewrite is seen.
    writeFileSync(join(volume, '..2024_02_01', 'tls.crt'), 'three');
    await expectReload(reloads, reloads.count);
  });

  it('sees certbot renewing: live/ symlinks pointed at new archive/ files', async () => {
    const dir = scratch();
    mkdirSync(join(dir, 'archive'));
    mkdirSync(join(dir, 'live'));
    writeFileSync(join(dir, 'archive', 'fullchain1.pem'), 'one');
    symlinkSync('../archive/fullchain1.pem', join(dir, 'live', 'fullchain.pem'));
    const reloads = watchConfig(dir, () => `ssl_cert_file = 'live/fullchain.pem'\n`);
    await settle();
    writeFileSync(join(dir, 'archive', 'fullchain2.pem'), 'two');
    unlinkSync(join(dir, 'live', 'fullchain.pem'));
    symlinkSync('../archive/fullchain2.pem', join(dir, 'live', 'fullchain.pem'));
    await expectReload(reloads, 0);
  });

  it('sees files that pg_hba.conf includes, and new ones after a reload', async () => {
    const dir = scratch();
    mkdirSync(join(dir, 'rules'));
    mkdirSync(join(dir, 'lists'));
    writeFileSync(join(dir, 'rules', '10-a.conf'), 'hostssl all all all trust\n');
    writeFileSync(join(dir, 'admins'), 'alice\n');
    writeFileSync(join(dir, 'hba.conf'), 'include_dir rules\nhostssl all @admins all trust\n');
    const reloads = watchConfig(dir, () => `hba_file = 'hba.conf'\n`);
    await settle();

    writeFileSync(join(dir, 'admins'), 'alice\nbob\n');
    await expectReload(reloads, 0);
    writeFileSync(join(dir, 'rules', '20-b.conf'), 'hostssl all all all reject\n');
    await expectReload(reloads, reloads.count);

    // A new @file is followed once the reload has read the new rules.
    writeFileSync(join(dir, 'hba.conf'), 'hostssl all @lists/ops all trust\n');
    await expectReload(reloads, reloads.count);
    writeFileSync(join(dir, 'lists', 'ops'), 'carol\n');
    await expectReload(reloads, reloads.count);
  });

  it('sees files the configuration file includes (include, include_dir)', async () => {
    const dir = scratch();
    mkdirSync(join(dir, 'conf.d'));
    writeFileSync(join(dir, 'tls.conf'), "ssl_ciphers = 'HIGH'\n");
    const reloads = watchConfig(dir, () => "include 'tls.conf'\ninclude_dir 'conf.d'\n");
    await settle();
    writeFileSync(join(dir, 'tls.conf'), "ssl_ciphers = 'HIGH:!aNULL'\n");
    await expectReload(reloads, 0);
    writeFileSync(join(dir, 'conf.d', '10-limits.conf'), 'max_connections = 10\n');
    await expectReload(reloads, reloads.count);
  });

  it('follows a path changed by a reload, and ignores unrelated files', async () => {
    const dir = scratch();
    mkdirSync(join(dir, 'old'));
    mkdirSync(join(dir, 'new'));
    writeFileSync(join(dir, 'old', 'server.crt'), 'one');
    writeFileSync(join(dir, 'new', 'server.crt'), 'two');
    const reloads = watchConfig(dir, () => `ssl_cert_file = 'old/server.crt'\n`);
    await settle();
    writeFileSync(join(dir, 'old', 'unrelated.txt'), 'x');
    await expectNoReload(reloads, 0);

    writeFileSync(join(dir, 'pgtunnel.conf'), `ssl_cert_file = 'new/server.crt'\n`);
    await expectReload(reloads, 0);
    const now = reloads.count;
    writeFileSync(join(dir, 'new', 'server.crt'), 'three');
    await expectReload(reloads, now);
  });

  it('keeps watching the old files while the configuration is broken', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'server.crt'), 'one');
    const reloads = watchConfig(dir, () => `ssl_cert_file = 'server.crt'\n`);
    await settle();
    writeFileSync(join(dir, 'pgtunnel.conf'), `ssl_cert_file = 'server.crt'\nnonsense = 1\n`);
    await expectReload(reloads, 0);
    const now = reloads.count;
    writeFileSync(join(dir, 'server.crt'), 'two');
    await expectReload(reloads, now);
  });
});
