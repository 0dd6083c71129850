// Writing CA output files safely: every target is checked before anything is written, nothing is
// overwritten without `force`, keys are created at mode 0600, and each file is replaced atomically.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PgTunnelError } from '../errors.js';

/** One file to write. */
export interface OutputFile {
  path: string;
  content: string;
  /** Private keys: created 0600 and never reused from an identical existing file. */
  secret?: boolean;
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PgTunnelError('ERR_CA_FILE', `cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Writes all `files`, or none: if any target already exists with other content and `force` is
 * off, fails naming every such file. A public file that already holds exactly the same text is
 * left alone (so re-running a command that writes root.crt is harmless).
 */
export async function writeOutputFiles(files: OutputFile[], force: boolean): Promise<void> {
  const toWrite: OutputFile[] = [];
  const conflicts: string[] = [];
  for (const file of files) {
    const existing = await readIfExists(file.path);
    if (existing === undefined) {
      toWrite.push(file);
    } else if (!file.secret && existing === file.content) {
      // Identical public content: nothing to do.
    } else if (force) {
      toWrite.push(file);
    } else {
      conflicts.push(file.path);
    }
  }
  if (conflicts.length > 0) {
    throw new PgTunnelError(
      'ERR_CA_EXISTS',
      `refusing to overwrite ${conflicts.join(', ')}; move ${conflicts.length > 1 ? 'them' : 'it'} away or pass --force`,
    );
  }
  for (const file of toWrite)
    await writeAtomically(file.path, file.content, file.secret ? 0o600 : 0o644);
}

/** Writes through a temporary file and a rename, so readers never see a half-written file. */
export async function writeAtomically(path: string, content: string, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temp, content, { mode, flag: 'wx' });
    // The umask may have removed bits we asked for (or we want fewer than it leaves): be exact.
    await chmod(temp, mode);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw new PgTunnelError(
      'ERR_CA_FILE',
      `cannot write ${path}: ${(error as Error).message}; choose another location, or make its directory writable by this user`,
      { cause: error },
    );
  }
}
