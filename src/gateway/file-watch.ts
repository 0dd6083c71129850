// Watches the files a configuration is built from (the config file and its includes, certificates, keys, CA,
// CRLs, hba and ident files with everything they include) and asks for a reload when one
// changes, as cert-manager or certbot replace them. Directories are watched rather than files
// so that an atomic rename or a swapped symlink is seen too; after each reload the list is
// taken from the load that reload made, so renamed paths and new includes are followed
// without reading the configuration a second time.
import { type FSWatcher, realpathSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { FilesRead } from '../config/file-source.js';
import type { LoadedConfig } from '../config/load.js';

const DEBOUNCE_MS = 300;

/** What to watch: files (by name in their directory) and whole directories. */
export interface WatchList {
  readonly files: readonly string[];
  readonly directories: readonly string[];
}

/**
 * Every file and directory `config` reads, symlink targets included. `auth` is what loading
 * the hba and ident files read (themselves, @files, includes): the list comes from the load.
 */
export function watchList(config: LoadedConfig, auth: FilesRead): WatchList {
  const s = config.settings;
  const named = [
    config.configFile ?? '',
    ...config.includes.files,
    s.ssl_cert_file,
    s.ssl_key_file,
    s.ssl_ca_file,
    s.ssl_crl_file,
    ...auth.files,
  ].filter((file) => file !== '');
  return {
    files: unique([...named, ...named.map(symlinkTarget)]),
    directories: unique(
      [s.ssl_crl_dir, ...config.includes.directories, ...auth.directories].filter(
        (dir) => dir !== '',
      ),
    ),
  };
}

/**
 * A symlinked file's target, so that rewriting the target in place is seen as well; certbot's
 * live/ files point into archive/, Kubernetes' point through the `..data` link.
 */
function symlinkTarget(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}

function unique(items: string[]): string[] {
  return [...new Set(items)];
}

/**
 * Calls `onChange` (debounced) when anything in `list()` changes, and asks `list()` again once
 * the returned promise settles (the caller answers from the configuration now in effect). If
 * `list()` throws, the previous list stays. Returns a function that stops watching.
 */
export function watchFiles(list: () => WatchList, onChange: () => Promise<unknown>): () => void {
  let current = list();
  let watchers = arm(current, () => trigger());
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const rearm = () => {
    if (stopped) return;
    let next: WatchList;
    try {
      next = list();
    } catch {
      return;
    }
    if (JSON.stringify(next) === JSON.stringify(current)) return;
    closeAll(watchers);
    current = next;
    watchers = arm(current, () => trigger());
  };
  const trigger = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      onChange().then(rearm, rearm);
    }, DEBOUNCE_MS);
  };
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    closeAll(watchers);
  };
}

function arm(list: WatchList, trigger: () => void): FSWatcher[] {
  const byDir = new Map<string, Set<string>>();
  for (const file of list.files) {
    const names = byDir.get(dirname(file)) ?? new Set<string>();
    names.add(basename(file));
    byDir.set(dirname(file), names);
  }
  const watchers: FSWatcher[] = [];
  const add = (dir: string, relevant: (name: string | null) => boolean) => {
    try {
      const watcher = watch(dir, { persistent: false }, (_event, name) => {
        if (relevant(name)) trigger();
      });
      // A watched directory that disappears must not take the server down; the next reload
      // reports the missing file, and arming again follows the new paths.
      watcher.on('error', () => watcher.close());
      watchers.push(watcher);
    } catch {
      // A directory that cannot be watched is reported at reload time when the file is read.
    }
  };
  for (const [dir, names] of byDir) {
    // Kubernetes secret volumes swap a `..data` symlink rather than the file itself.
    add(dir, (name) => name === null || names.has(name) || name.startsWith('..'));
  }
  for (const dir of list.directories) add(dir, () => true);
  return watchers;
}

function closeAll(watchers: FSWatcher[]): void {
  for (const watcher of watchers) watcher.close();
}
