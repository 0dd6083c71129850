// pg_service.conf lookup for the `service` keyword / PGSERVICE, as libpq's parseServiceInfo():
// the user's file (PGSERVICEFILE or ~/.pg_service.conf) first, then PGSYSCONFDIR/pg_service.conf.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { type ConnInfo, type ConnInfoKeyword, isConnInfoKeyword } from './conninfo.js';

/** Debian's libpq is built with sysconfdir /etc/postgresql-common. */
export const DEFAULT_SYSCONFDIR = '/etc/postgresql-common';

/**
 * Parses one service file's text and returns the settings of `service`, or undefined when the
 * file has no such section. Pure; `fileName` only appears in error messages.
 */
export function parseServiceFile(
  text: string,
  fileName: string,
  service: string,
): ConnInfo | undefined {
  let found = false;
  const values: Partial<Record<ConnInfoKeyword, string>> = {};
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = (lines[index] ?? '').trim();
    const lineNumber = index + 1;
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      if (found) break; // the section ended
      const name = line.slice(1, line.indexOf(']') === -1 ? undefined : line.indexOf(']'));
      found = name === service;
      continue;
    }
    if (!found) continue;
    const eq = line.indexOf('=');
    const syntaxError = () =>
      new ConfigError(
        'ERR_CONNINFO',
        `syntax error in service file "${fileName}", line ${lineNumber}`,
      );
    if (eq === -1) throw syntaxError();
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'service') {
      throw new ConfigError(
        'ERR_CONNINFO',
        `nested service specifications not supported in service file "${fileName}", line ${lineNumber}`,
      );
    }
    if (!isConnInfoKeyword(key)) throw syntaxError();
    // the first setting of a key wins, as libpq skips keys that already have a value
    if (values[key] === undefined) values[key] = value;
  }
  return found ? values : undefined;
}

/** Finds `service` in the user's and the system's service files. */
export function lookupService(service: string, env: NodeJS.ProcessEnv = process.env): ConnInfo {
  const files = [
    env.PGSERVICEFILE ?? join(env.HOME || homedir(), '.pg_service.conf'),
    join(env.PGSYSCONFDIR ?? DEFAULT_SYSCONFDIR, 'pg_service.conf'),
  ];
  for (const file of files) {
    if (!existsSync(file)) continue;
    const settings = parseServiceFile(readFileSync(file, 'utf8'), file, service);
    if (settings) return settings;
  }
  throw new ConfigError('ERR_CONNINFO', `definition of service "${service}" not found`);
}
