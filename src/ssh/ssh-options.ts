// `-o Key=Value` options, read like ssh_config lines that come before every file (so they win).
// Options about where the destination is apply to it alone; the rest apply to every hop.
import { PgTunnelError } from '../errors.js';
import type { Directive } from './ssh-config.js';

/** Keys that describe the destination host itself; jump hosts keep their own. */
const DESTINATION_KEYS = ['HostName', 'User', 'Port', 'HostKeyAlias', 'ProxyJump'];

/** Keys that shape every hop of the tunnel. */
const ALL_HOP_KEYS = [
  'StrictHostKeyChecking',
  'UserKnownHostsFile',
  'HashKnownHosts',
  'ServerAliveInterval',
  'ServerAliveCountMax',
  'ConnectTimeout',
  'IdentitiesOnly',
  'IdentityAgent',
  'IdentityFile',
  'AddressFamily',
  'Compression',
];

/** Accepted for copy-paste compatibility with ssh command lines; pgtunnel already behaves so. */
const NO_OP_KEYS = ['ExitOnForwardFailure', 'BatchMode'];

export const SUPPORTED_OPTIONS = [...DESTINATION_KEYS, ...ALL_HOP_KEYS, ...NO_OP_KEYS];

export interface SshOptions {
  /** Directives for the destination only. */
  destination: Directive[];
  /** Directives for every hop. */
  allHops: Directive[];
}

export function parseSshOptions(options: readonly string[]): SshOptions {
  const result: SshOptions = { destination: [], allHops: [] };
  for (const text of options) {
    const match = /^\s*([A-Za-z]+)\s*(?:=\s*|\s+)(.*?)\s*$/.exec(text);
    const name = match?.[1];
    const value = match?.[2];
    if (!name || !value) {
      throw new PgTunnelError('ERR_USAGE', `invalid -o "${text}": expected Key=Value`);
    }
    const key = SUPPORTED_OPTIONS.find((k) => k.toLowerCase() === name.toLowerCase());
    if (!key) {
      throw new PgTunnelError(
        'ERR_USAGE',
        `-o ${name} is not supported by pgtunnel ssh; supported: ${SUPPORTED_OPTIONS.join(', ')}`,
      );
    }
    if (NO_OP_KEYS.includes(key)) continue;
    const directive: Directive = {
      keyword: key.toLowerCase(),
      args: value.split(/\s+/),
      location: `-o ${text}`,
      conditions: [],
    };
    (DESTINATION_KEYS.includes(key) ? result.destination : result.allHops).push(directive);
  }
  return result;
}
