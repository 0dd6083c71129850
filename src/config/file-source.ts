// How configuration files are read — postgresql.conf and its includes, pg_hba.conf and
// pg_ident.conf with theirs — through one small interface, so that parsers stay pure (tests
// hand them files from memory) and a load can record every file it read: the list watch_files
// watches comes from the load itself, never from reading the configuration again.
import { readdirSync, readFileSync } from 'node:fs';

/** A directory entry as `include_dir` needs it. */
export interface DirEntry {
  readonly name: string;
  readonly isDirectory: boolean;
}

/**
 * Reads configuration files. Both methods throw a Node-style error (with `code`, e.g. `ENOENT`)
 * when the path cannot be read; callers word it as PostgreSQL does.
 */
export interface FileSource {
  readFile(path: string): string;
  listDir(path: string): DirEntry[];
}

/**
 * The disk. Synchronous on purpose: configuration files are small, read only at load and
 * reload, and a synchronous source keeps the parsers simple.
 */
export const diskFiles: FileSource = {
  readFile: (path) => readFileSync(path, 'utf8'),
  listDir: (path) =>
    readdirSync(path, { withFileTypes: true }).map((entry) => ({
      name: entry.name,
      isDirectory: entry.isDirectory(),
    })),
};

/** What a load asked for: files (read or tried) and directories (listed or tried). */
export interface FilesRead {
  readonly files: string[];
  readonly directories: string[];
}

/**
 * `source`, recording every path asked of it — those that failed too, so a missing include
 * is watched and its appearance noticed.
 */
export function recording(source: FileSource = diskFiles): {
  source: FileSource;
  read: FilesRead;
} {
  const files = new Set<string>();
  const directories = new Set<string>();
  const read: FilesRead = {
    get files() {
      return [...files];
    },
    get directories() {
      return [...directories];
    },
  };
  return {
    source: {
      readFile(path) {
        files.add(path);
        return source.readFile(path);
      },
      listDir(path) {
        directories.add(path);
        return source.listDir(path);
      },
    },
    read,
  };
}

/** Files held in memory (path → text), e.g. a ConfigMap or a test's fixtures. */
export function filesInMemory(
  files: ReadonlyMap<string, string> | Readonly<Record<string, string>>,
  directories: Readonly<Record<string, readonly string[]>> = {},
): FileSource {
  const text = files instanceof Map ? files : new Map(Object.entries(files));
  const missing = (path: string) =>
    Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), {
      code: 'ENOENT',
    });
  return {
    readFile(path) {
      const found = text.get(path);
      if (found === undefined) throw missing(path);
      return found;
    },
    listDir(path) {
      const names = directories[path];
      if (names === undefined) throw missing(path);
      return names.map((name) => ({ name, isDirectory: false }));
    },
  };
}
