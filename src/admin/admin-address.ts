// Where the admin endpoint listens, checked before anything binds. The status page names
// clients, users and certificate subjects, so it binds to loopback (or a unix socket) unless
// admin_listen_unsafe says otherwise, as ghostunnel's status port does (main.go consideredSafe).
import { BlockList, isIP } from 'node:net';
import type { LoadedConfig } from '../config/load.js';
import { ConfigError } from '../errors.js';
import { parseSocketAddress, type SocketAddress } from '../net/address.js';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** True for `localhost`, 127.0.0.0/8, ::1 and IPv4-mapped loopback (::ffff:127.0.0.1). */
export function isLoopbackHost(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  const family = isIP(host);
  if (family === 0) return false;
  return LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The admin endpoint's address from `admin_listen`, or undefined when it is off ('').
 * Throws ConfigError (naming the file:line or flag) for an invalid or non-loopback address
 * without `admin_listen_unsafe`.
 *
 * @example adminListenAddress(config) // { kind: 'tcp', host: '127.0.0.1', port: 9187 }
 */
export function adminListenAddress(config: LoadedConfig): SocketAddress | undefined {
  const text = config.settings.admin_listen.trim();
  if (text === '') return undefined;
  const location = config.sources.get('admin_listen')?.location;
  const fail = (message: string) => new ConfigError('ERR_CONFIG_INVALID', message, { location });
  let address: SocketAddress;
  try {
    address = parseSocketAddress(text, { defaultPort: 9187, allowPortZero: true });
  } catch (error) {
    throw fail(`admin_listen: ${(error as Error).message}; expected host:port or unix:/path`);
  }
  if (address.kind === 'unix') {
    if (address.directory !== undefined) {
      throw fail(
        `admin_listen = '${text}': give a socket file as unix:/path (a directory is not accepted)`,
      );
    }
    return address;
  }
  if (!isLoopbackHost(address.host) && !config.settings.admin_listen_unsafe) {
    throw fail(
      `admin_listen = '${text}' is not a loopback address, and the status page shows client addresses, user names and certificate subjects; use 127.0.0.1 or [::1] (and a proxy if it must be reached remotely), or set admin_listen_unsafe = on to allow it`,
    );
  }
  return address;
}
