// `-L [bind_address:]port:host:hostport` as ssh(1) reads it (also the `/`-separated form and
// bracketed IPv6 addresses), plus the check for privileged local ports.
import { PgTunnelError } from '../errors.js';

/** One local forward: listen on bindAddress:bindPort, connect through SSH to host:hostPort. */
export interface ForwardSpec {
  /** Address to listen on; `undefined` means all interfaces (`*` or an empty bind address). */
  bindAddress: string | undefined;
  /** Local port; 0 picks a free one (reported once listening). */
  bindPort: number;
  /** Target as seen from the last SSH host (resolved there, like ssh does). */
  host: string;
  hostPort: number;
  /** The text the user wrote, for messages. */
  text: string;
}

/**
 * ssh binds forwards to loopback unless told otherwise (GatewayPorts no): `localhost`, which
 * it listens on as both 127.0.0.1 and ::1 (see loopbackAddresses()).
 */
export const DEFAULT_BIND_ADDRESS = 'localhost';

/** Which address families to listen on and connect with (`-4`, `-6`, AddressFamily). */
export type AddressFamily = 'any' | 'inet' | 'inet6';

/**
 * The addresses to listen on for a bind address: `localhost` (also the default) is both
 * loopback addresses, as ssh binds it, narrowed by `-4`/`-6`; any other address is itself.
 */
export function listenAddresses(
  bindAddress: string | undefined,
  family: AddressFamily,
): Array<string | undefined> {
  if (bindAddress?.toLowerCase() !== 'localhost') return [bindAddress];
  if (family === 'inet') return ['127.0.0.1'];
  if (family === 'inet6') return ['::1'];
  return ['127.0.0.1', '::1'];
}

export function parseForwardSpec(text: string): ForwardSpec {
  const fields = splitFields(text);
  if (fields.some((field) => field.startsWith('/'))) {
    throw usage(text, 'forwarding to a unix socket is not supported; give host:hostport');
  }
  if (fields.length !== 3 && fields.length !== 4) {
    throw usage(text, 'expected [bind_address:]port:host:hostport');
  }
  const [bind, port, host, hostPort] =
    fields.length === 4 ? fields : [DEFAULT_BIND_ADDRESS, ...fields];
  if (!host) throw usage(text, 'the target host is empty');
  const bindPort = parseNumber(port ?? '', 0, text, 'local port');
  const targetPort = parseNumber(hostPort ?? '', 1, text, 'target port');
  const bindAddress = bind === '' || bind === '*' ? undefined : bind;
  return { bindAddress, bindPort, host, hostPort: targetPort, text };
}

/** Splits on `:` (or on `/` when the spec uses that form), keeping `[…]` groups whole. */
function splitFields(text: string): string[] {
  // ssh's alternative form for IPv6 without brackets: [bind/]port/host/hostport
  const slashForm = /^(?:[^/]*\/)?\d+\/[^/]+\/\d+$/.test(text) && !text.includes('[');
  const separator = slashForm ? '/' : ':';
  const fields: string[] = [];
  let current = '';
  let bracket = false;
  for (const char of text) {
    if (char === '[' && current === '') bracket = true;
    else if (char === ']' && bracket) bracket = false;
    else if (char === separator && !bracket) {
      fields.push(current);
      current = '';
    } else current += char;
  }
  fields.push(current);
  return fields;
}

function parseNumber(text: string, min: number, spec: string, what: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > 65535) {
    throw usage(spec, `the ${what} "${text}" is not a port number (${min}-65535)`);
  }
  return value;
}

function usage(text: string, why: string): PgTunnelError {
  return new PgTunnelError('ERR_USAGE', `invalid -L forward "${text}": ${why}`);
}

/**
 * A warning when a non-root user asks for a port below 1024 (ssh refuses those too); the
 * bind may still work with CAP_NET_BIND_SERVICE or a lowered ip_unprivileged_port_start.
 */
export function privilegedPortWarning(
  spec: ForwardSpec,
  uid: number | undefined,
): string | undefined {
  if (uid === undefined || uid === 0 || spec.bindPort === 0 || spec.bindPort >= 1024)
    return undefined;
  return (
    `local port ${spec.bindPort} is below 1024 and normally needs root; ` +
    'if binding fails, pick a port of 1024 or more (PostgreSQL tunnels often use 5433 or 63333)'
  );
}
