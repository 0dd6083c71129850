// The subset of OpenSSH's ssh_config(5) a tunnel needs: Host blocks with patterns, Include, and
// the keys for where to connect and how to authenticate. Pure: text in, per-host values out;
// loadSshConfig() in ssh-config-file.ts reads the files.
import { ConfigError } from '../errors.js';
import { matchPatternList } from './host-pattern.js';

/** One `Keyword value…` line, with the Host conditions it sits under. */
export interface Directive {
  /** Lower-cased keyword. */
  keyword: string;
  args: string[];
  /** `file:line`, or the command-line option the value came from. */
  location: string;
  /** Every pattern list must match the host alias for the line to apply. */
  conditions: string[][];
}

/** Parsed ssh_config files, in reading order. */
export interface SshConfig {
  readonly directives: readonly Directive[];
  /** Lines that were skipped (unsupported Match criteria); worth a warning, not an error. */
  readonly warnings: readonly string[];
}

/** A value and where it came from, so errors can point at file:line. */
export interface Located<T> {
  value: T;
  location: string;
}

/** The values one host gets, first obtained value winning as in ssh(1). */
export interface HostConfig {
  hostName?: Located<string>;
  user?: Located<string>;
  port?: Located<number>;
  /** IdentityFile accumulates over all matching lines, in order. */
  identityFiles: Located<string>[];
  proxyJump?: Located<string>;
  proxyCommand?: Located<string>;
  identitiesOnly?: Located<boolean>;
  identityAgent?: Located<string>;
  hostKeyAlias?: Located<string>;
  userKnownHostsFiles?: Located<string[]>;
  strictHostKeyChecking?: Located<string>;
  hashKnownHosts?: Located<boolean>;
  serverAliveInterval?: Located<number>;
  serverAliveCountMax?: Located<number>;
  connectTimeout?: Located<number>;
  addressFamily?: Located<'any' | 'inet' | 'inet6'>;
  compression?: Located<boolean>;
}

/** Reads the files an `Include` names; returns them in the order ssh would read them. */
export type IncludeReader = (
  pattern: string,
  fromFile: string,
) => Array<{ file: string; text: string }>;

const MAX_INCLUDE_DEPTH = 16;

/** Parses ssh_config text. Throws ConfigError (with file:line) on lines ssh would refuse. */
export function parseSshConfig(
  text: string,
  file: string,
  options: { include?: IncludeReader } = {},
): SshConfig {
  const directives: Directive[] = [];
  const warnings: string[] = [];
  parseInto(text, file, [], 0, directives, warnings, options.include);
  return { directives, warnings };
}

function parseInto(
  text: string,
  file: string,
  inherited: string[][],
  depth: number,
  out: Directive[],
  warnings: string[],
  include: IncludeReader | undefined,
): void {
  let conditions = inherited;
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = index + 1;
    const location = `${file}:${line}`;
    const content = (lines[index] ?? '').replace(/\r$/, '').trim();
    if (content === '' || content.startsWith('#')) continue;
    const match = /^([A-Za-z]+)(?:\s*=\s*|\s+|$)(.*)$/.exec(content);
    if (!match?.[1]) {
      throw new ConfigError('ERR_CONFIG_SYNTAX', `expected "Keyword value", found "${content}"`, {
        location,
      });
    }
    const keyword = match[1].toLowerCase();
    const args = splitArgs(match[2] ?? '', location);
    if (keyword === 'host') {
      if (args.length === 0) {
        throw new ConfigError('ERR_CONFIG_SYNTAX', 'Host needs at least one pattern', { location });
      }
      conditions = [...inherited, args];
    } else if (keyword === 'match') {
      if (args.length === 1 && args[0]?.toLowerCase() === 'all') {
        conditions = inherited;
      } else {
        // A never-matching condition: the block's lines are skipped.
        conditions = [...inherited, ['!*']];
        warnings.push(`${location}: "Match ${args.join(' ')}" is not supported; block skipped`);
      }
    } else if (keyword === 'include') {
      if (!include) continue;
      if (depth >= MAX_INCLUDE_DEPTH) {
        throw new ConfigError('ERR_CONFIG_SYNTAX', 'Include nested too deeply (a loop?)', {
          location,
        });
      }
      for (const pattern of args) {
        for (const included of include(pattern, file)) {
          parseInto(included.text, included.file, conditions, depth + 1, out, warnings, include);
        }
      }
    } else {
      if (args.length === 0) {
        throw new ConfigError('ERR_CONFIG_SYNTAX', `${match[1]} needs a value`, { location });
      }
      out.push({ keyword, args, location, conditions });
    }
  }
}

/** Splits arguments like ssh does: whitespace-separated, double or single quotes group. */
function splitArgs(text: string, location: string): string[] {
  const args: string[] = [];
  let current = '';
  let quote: string | undefined;
  let inArg = false;
  for (const char of text) {
    if (quote) {
      if (char === quote) quote = undefined;
      else current += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      inArg = true;
    } else if (/\s/.test(char)) {
      if (inArg) args.push(current);
      current = '';
      inArg = false;
    } else {
      current += char;
      inArg = true;
    }
  }
  if (quote) throw new ConfigError('ERR_CONFIG_SYNTAX', 'unterminated quote', { location });
  if (inArg) args.push(current);
  return args;
}

/** The values that apply to `alias` (the host as typed by the user, before HostName). */
export function lookupHost(config: SshConfig, alias: string): HostConfig {
  const result: HostConfig = { identityFiles: [] };
  for (const d of config.directives) {
    if (!d.conditions.every((patterns) => matchPatternList(patterns, alias))) continue;
    const location = d.location;
    const first = d.args[0] ?? '';
    const at = <T>(value: T): Located<T> => ({ value, location });
    switch (d.keyword) {
      case 'hostname':
        result.hostName ??= at(first);
        break;
      case 'user':
        result.user ??= at(first);
        break;
      case 'port':
        result.port ??= at(parsePort(first, location));
        break;
      case 'identityfile':
        result.identityFiles.push(at(first));
        break;
      case 'proxyjump':
        result.proxyJump ??= at(first);
        break;
      case 'proxycommand':
        result.proxyCommand ??= at(d.args.join(' '));
        break;
      case 'identitiesonly':
        result.identitiesOnly ??= at(parseYesNo(first, 'IdentitiesOnly', location));
        break;
      case 'identityagent':
        result.identityAgent ??= at(first);
        break;
      case 'hostkeyalias':
        result.hostKeyAlias ??= at(first);
        break;
      case 'userknownhostsfile':
        result.userKnownHostsFiles ??= at(d.args);
        break;
      case 'stricthostkeychecking':
        result.strictHostKeyChecking ??= at(first.toLowerCase());
        break;
      case 'hashknownhosts':
        result.hashKnownHosts ??= at(parseYesNo(first, 'HashKnownHosts', location));
        break;
      case 'serveraliveinterval':
        result.serverAliveInterval ??= at(parseCount(first, 'ServerAliveInterval', location));
        break;
      case 'serveralivecountmax':
        result.serverAliveCountMax ??= at(parseCount(first, 'ServerAliveCountMax', location));
        break;
      case 'connecttimeout':
        result.connectTimeout ??= at(parseCount(first, 'ConnectTimeout', location));
        break;
      case 'addressfamily':
        result.addressFamily ??= at(parseAddressFamily(first, location));
        break;
      case 'compression':
        result.compression ??= at(parseYesNo(first, 'Compression', location));
        break;
      default:
        // Every other ssh_config keyword (Ciphers, SendEnv, ForwardAgent …) does not change
        // how a tunnel connects; ssh users keep them in the same file, so they are not errors.
        break;
    }
  }
  return result;
}

function parsePort(value: string, location: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) {
    throw new ConfigError('ERR_CONFIG_INVALID', `Port "${value}" is not a port number (1-65535)`, {
      location,
    });
  }
  return port;
}

function parseCount(value: string, keyword: string, location: string): number {
  if (!/^\d+$/.test(value)) {
    throw new ConfigError('ERR_CONFIG_INVALID', `${keyword} "${value}" is not a whole number`, {
      location,
    });
  }
  return Number(value);
}

function parseYesNo(value: string, keyword: string, location: string): boolean {
  const lower = value.toLowerCase();
  if (lower === 'yes' || lower === 'true') return true;
  if (lower === 'no' || lower === 'false') return false;
  throw new ConfigError('ERR_CONFIG_INVALID', `${keyword} must be yes or no, not "${value}"`, {
    location,
  });
}

function parseAddressFamily(value: string, location: string): 'any' | 'inet' | 'inet6' {
  const lower = value.toLowerCase();
  if (lower === 'any' || lower === 'inet' || lower === 'inet6') return lower;
  throw new ConfigError(
    'ERR_CONFIG_INVALID',
    `AddressFamily must be any, inet or inet6, not "${value}"`,
    { location },
  );
}
