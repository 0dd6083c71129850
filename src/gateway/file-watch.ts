// Watches the files a generation was built from (certificates, keys, CA, CRLs, hba, ident,
// the config file) and asks for a reload when one changes, as cert-manager or certbot replace
// them. Directories are watched rather than files so that an atomic rename is seen too.
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Settings } from '../config/settings.js';

const DEBOUNCE_MS = 300;

export function watchedFiles(settings: Settings, configFile: string | undefined): string[] {
  return [
    configFile ?? '',
    settings.ssl_cert_file,
    settings.ssl_key_file,
    settings.ssl_ca_file,
    settings.ssl_crl_file,
    settings.hba_file,
    settings.ident_file,
  ].filter((file) => file !== '');
}

/** Calls `onChange` (debounced) when any of `files` or anything in `settings.ssl_crl_dir` changes. */
export function watchFiles(files: string[], extraDirs: string[], onChange: () => void): () => void {
  const byDir = new Map<string, Set<string>>();
  for (const file of files) {
    const dir = dirname(file);
    const names = byDir.get(dir) ?? new Set<string>();
    names.add(basename(file));
    byDir.set(dir, names);
  }
  let timer: NodeJS.Timeout | undefined;
  const trigger = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(onChange, DEBOUNCE_MS);
  };
  const watchers: FSWatcher[] = [];
  for (const [dir, names] of byDir) {
    try {
      watchers.push(
        watch(dir, { persistent: false }, (_event, name) => {
          // Kubernetes secret volumes swap a `..data` symlink rather than the file itself.
          if (name === null || names.has(name) || name.startsWith('..')) trigger();
        }),
      );
    } catch {
      // A directory that cannot be watched is reported at reload time when the file is read.
    }
  }
  for (const dir of extraDirs.filter((d) => d !== '')) {
    try {
      watchers.push(watch(dir, { persistent: false }, trigger));
    } catch {
      // as above
    }
  }
  return () => {
    if (timer) clearTimeout(timer);
    for (const watcher of watchers) watcher.close();
  };
}
