// Named tunnel profiles in a config file, so `pgtunnel ssh --config FILE --profile prod` replaces
// a long command line. postgresql.conf-like lines (`key = value`, `#` comments, optional single
// quotes) under `[ssh.NAME]` sections; other sections belong to other commands and are skipped.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';

/** A profile's settings; each mirrors a command-line flag (see docs/ssh.md). */
export interface SshProfile {
  name: string;
  /** file:line of the section header. */
  location: string;
  destination?: string;
  user?: string;
  port?: number;
  /** `forward` lines, each like -L. */
  forwards: string[];
  jump?: string;
  identityFiles: string[];
  sshConfig?: string;
  knownHosts?: string;
  /** `option` lines, each like -o, plus the shorthand keys below turned into options. */
  options: string[];
  connectWaitSeconds?: number;
  reconnectMaxDelaySeconds?: number;
  check?: boolean;
}

/** Shorthand keys that become `-o` options. */
const OPTION_KEYS: Record<string, string> = {
  strict_host_key_checking: 'StrictHostKeyChecking',
  hash_known_hosts: 'HashKnownHosts',
  server_alive_interval: 'ServerAliveInterval',
  server_alive_count_max: 'ServerAliveCountMax',
  connect_timeout: 'ConnectTimeout',
  identities_only: 'IdentitiesOnly',
};

const KEYS = [
  'destination',
  'user',
  'port',
  'forward',
  'jump',
  'identity_file',
  'ssh_config',
  'known_hosts',
  'option',
  'connect_wait',
  'reconnect_max_delay',
  'check',
  ...Object.keys(OPTION_KEYS),
];

/** Parses every `[ssh.NAME]` section of a config file. */
export function parseProfiles(text: string, file: string): Map<string, SshProfile> {
  const profiles = new Map<string, SshProfile>();
  let current: SshProfile | undefined;
  let inOtherSection = false;
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const location = `${file}:${index + 1}`;
    const content = (lines[index] ?? '').replace(/\r$/, '').trim();
    if (content === '' || content.startsWith('#')) continue;
    const section = /^\[([^\]]+)\]$/.exec(content);
    if (section?.[1]) {
      const name = section[1].trim();
      inOtherSection = !name.startsWith('ssh.');
      current = undefined;
      if (inOtherSection) continue;
      const profileName = name.slice(4);
      if (!/^[A-Za-z0-9_.-]+$/.test(profileName)) {
        throw new ConfigError('ERR_CONFIG_SYNTAX', `invalid profile name "${profileName}"`, {
          location,
        });
      }
      if (profiles.has(profileName)) {
        throw new ConfigError(
          'ERR_CONFIG_CONFLICT',
          `profile "${profileName}" is defined twice (first at ${profiles.get(profileName)?.location})`,
          { location },
        );
      }
      current = { name: profileName, location, forwards: [], identityFiles: [], options: [] };
      profiles.set(profileName, current);
      continue;
    }
    if (inOtherSection) continue;
    const pair = /^([a-z_]+)\s*=\s*(.*)$/.exec(content);
    if (!pair?.[1]) {
      throw new ConfigError('ERR_CONFIG_SYNTAX', `expected "key = value", found "${content}"`, {
        location,
      });
    }
    if (!current) {
      throw new ConfigError(
        'ERR_CONFIG_SYNTAX',
        `"${pair[1]}" is outside a profile; start one with a [ssh.NAME] line`,
        { location },
      );
    }
    setKey(current, pair[1], unquote(pair[2] ?? '', location), location);
  }
  return profiles;
}

function setKey(profile: SshProfile, key: string, value: string, location: string): void {
  const optionName = OPTION_KEYS[key];
  if (optionName) {
    profile.options.push(`${optionName}=${value}`);
    return;
  }
  switch (key) {
    case 'destination':
      profile.destination = value;
      return;
    case 'user':
      profile.user = value;
      return;
    case 'port':
      profile.port = number(value, key, location, 1, 65535);
      return;
    case 'forward':
      profile.forwards.push(value);
      return;
    case 'jump':
      profile.jump = value;
      return;
    case 'identity_file':
      profile.identityFiles.push(value);
      return;
    case 'ssh_config':
      profile.sshConfig = value;
      return;
    case 'known_hosts':
      profile.knownHosts = value;
      return;
    case 'option':
      profile.options.push(value);
      return;
    case 'connect_wait':
      profile.connectWaitSeconds = number(value, key, location, 0, 3600);
      return;
    case 'reconnect_max_delay':
      profile.reconnectMaxDelaySeconds = number(value, key, location, 1, 3600);
      return;
    case 'check':
      profile.check = boolean(value, key, location);
      return;
    default:
      throw new ConfigError(
        'ERR_CONFIG_UNKNOWN_KEY',
        `unknown key "${key}"; known keys: ${KEYS.join(', ')}`,
        {
          location,
        },
      );
  }
}

function unquote(raw: string, location: string): string {
  const value = raw.trim();
  if (!value.startsWith("'")) return value.replace(/\s+#.*$/, '');
  const match = /^'((?:[^']|'')*)'\s*(?:#.*)?$/.exec(value);
  if (!match) throw new ConfigError('ERR_CONFIG_SYNTAX', 'unterminated quoted value', { location });
  return (match[1] ?? '').replaceAll("''", "'");
}

function number(value: string, key: string, location: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n < min || n > max) {
    throw new ConfigError(
      'ERR_CONFIG_INVALID',
      `${key} must be a number from ${min} to ${max}, not "${value}"`,
      {
        location,
      },
    );
  }
  return n;
}

function boolean(value: string, key: string, location: string): boolean {
  const lower = value.toLowerCase();
  if (['on', 'yes', 'true', '1'].includes(lower)) return true;
  if (['off', 'no', 'false', '0'].includes(lower)) return false;
  throw new ConfigError('ERR_CONFIG_INVALID', `${key} must be on or off, not "${value}"`, {
    location,
  });
}

/** Reads `file` and returns profile `name`, or a ConfigError listing the profiles there are. */
export function loadProfile(file: string, name: string): SshProfile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ConfigError(
      'ERR_CONFIG_FILE',
      `cannot read config file ${file}: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
  const profiles = parseProfiles(text, file);
  const profile = profiles.get(name);
  if (!profile) {
    const known = [...profiles.keys()];
    throw new ConfigError(
      'ERR_CONFIG_MISSING',
      `${file} has no [ssh.${name}] profile` +
        (known.length > 0
          ? `; profiles there: ${known.join(', ')}`
          : '; it defines no ssh profiles'),
    );
  }
  return profile;
}
