// Reads ssh_config files the way ssh(1) does: `-F FILE` alone, otherwise ~/.ssh/config then
// /etc/ssh/ssh_config, with Include expanded (relative to ~/.ssh or /etc/ssh, `*`/`?` globs).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { ConfigError } from '../errors.js';
import { matchGlob } from './host-pattern.js';
import { type IncludeReader, parseSshConfig, type SshConfig } from './ssh-config.js';

export const SYSTEM_SSH_CONFIG = '/etc/ssh/ssh_config';

/** Where to read ssh_config from. */
export interface SshConfigSource {
  /** `-F FILE`: only this file; `none` reads nothing. */
  file?: string | undefined;
  /** The user's home directory, for ~/.ssh/config and `~` in Include. */
  home: string;
  /** Overrides /etc/ssh/ssh_config (tests). */
  systemFile?: string | undefined;
}

export function loadSshConfig(source: SshConfigSource): SshConfig {
  const userDir = join(source.home, '.ssh');
  const files: Array<{ file: string; required: boolean; base: string }> = [];
  if (source.file === 'none') {
    // nothing, like `ssh -F none`
  } else if (source.file) {
    files.push({ file: expandHome(source.file, source.home), required: true, base: userDir });
  } else {
    files.push({ file: join(userDir, 'config'), required: false, base: userDir });
    const system = source.systemFile ?? SYSTEM_SSH_CONFIG;
    files.push({ file: system, required: false, base: dirname(system) });
  }
  const directives: SshConfig['directives'][number][] = [];
  const warnings: string[] = [];
  for (const { file, required, base } of files) {
    if (!required && !existsSync(file)) continue;
    const config = parseSshConfig(readText(file), file, {
      include: includeReader(base, source.home),
    });
    directives.push(...config.directives);
    warnings.push(...config.warnings);
  }
  return { directives, warnings };
}

function includeReader(base: string, home: string): IncludeReader {
  return (pattern) => {
    const expanded = expandHome(pattern, home);
    const path = isAbsolute(expanded) ? expanded : join(base, expanded);
    const dir = dirname(path);
    const name = basename(path);
    if (!/[*?]/.test(name)) {
      return existsSync(path) ? [{ file: path, text: readText(path) }] : [];
    }
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((entry) => matchGlob(name, entry))
      .sort()
      .map((entry) => join(dir, entry))
      .map((file) => ({ file, text: readText(file) }));
  };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ConfigError(
      'ERR_CONFIG_FILE',
      `cannot read ssh config ${file}: ${(cause as Error).message}`,
      { cause },
    );
  }
}

/** `~` and `~/…` to the home directory (ssh expands only the current user's `~`). */
export function expandHome(path: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return path;
}
