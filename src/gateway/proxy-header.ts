// Reads the PROXY protocol header a balancer puts before a client's bytes (proxy_protocol), on
// the accepted socket and before the PostgreSQL startup steps run. A trusted header makes its
// source address the client's for everything after (hba rules, logs, /status); a header from
// an untrusted address, a malformed one, or none where one is required refuses the connection.
import type { Socket } from 'node:net';
import type { Settings } from '../config/settings.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { type Cidr, inAnyRange, parseCidr, unmappedAddress as unmapped } from '../net/cidr.js';
import { StreamEndedError } from '../net/read-bytes.js';
import { fatal } from '../protocol/backend-error.js';
import { SqlState } from '../protocol/codes.js';
import {
  decodeProxyHeader,
  type ProxyHeader,
  type ProxyHeaderDecode,
  ProxyHeaderError,
} from '../protocol/proxy-header.js';
import { endWithReply } from '../startup/refusal.js';
import type { ConnectionEnvironment, GatewayEvents } from './generation.js';

const compiledRanges = new WeakMap<readonly string[], Cidr[]>();

function trustedRanges(settings: Settings): Cidr[] {
  const texts = settings.proxy_protocol_trusted;
  let ranges = compiledRanges.get(texts);
  if (!ranges) {
    ranges = texts.map(parseCidr);
    compiledRanges.set(texts, ranges);
  }
  return ranges;
}

/**
 * Handles the PROXY header step for one accepted connection. Resolves true when the startup
 * steps should run (the socket paused, with the client's first bytes put back), false when the
 * connection was refused or closed here.
 */
export async function acceptProxyHeader(
  socket: Socket,
  transport: 'tcp' | 'local',
  settings: Settings,
  log: Logger,
  events: GatewayEvents,
): Promise<boolean> {
  if (transport !== 'tcp' || settings.proxy_protocol === 'off') return true;
  socket.on('error', () => {}); // reported by the read below; a reset must not crash the process
  const peer = unmapped(socket.remoteAddress);
  if (peer === undefined) {
    // Reset before we looked (a balancer's health check may connect and close at once).
    socket.destroy();
    return false;
  }
  const trusted = inAnyRange(peer, trustedRanges(settings));
  const refuseWith = async (reason: string, reply: Buffer) => {
    events.connectionRefused('proxy_protocol');
    log.warn({ client: peer, proxy_protocol: settings.proxy_protocol, trusted }, reason);
    await endWithReply(socket, reply);
    return false;
  };

  let received: Buffer;
  let decoded: ProxyHeaderDecode;
  try {
    received = await readPrefix(
      socket,
      (bytes) => decodeSafely(bytes) !== 'incomplete',
      AbortSignal.timeout(settings.authentication_timeout),
    );
    decoded = decodeProxyHeader(received);
  } catch (error) {
    if (error instanceof StreamEndedError) {
      // A TCP health check connects and closes: nothing to answer, nothing to log.
      socket.destroy();
      return false;
    }
    if (error instanceof ProxyHeaderError) {
      return refuseWith(
        `invalid PROXY protocol header: ${error.message}`,
        fatal(SqlState.PROTOCOL_VIOLATION, 'invalid PROXY protocol header'),
      );
    }
    if (error instanceof DOMException && error.name === 'TimeoutError') {
      return refuseWith(
        `no PROXY protocol header or startup packet within authentication_timeout (${settings.authentication_timeout} ms)`,
        fatal(SqlState.PROTOCOL_VIOLATION, 'canceling authentication due to timeout'),
      );
    }
    log.info({ client: peer, err: describeError(error) }, 'connection closed');
    socket.destroy();
    return false;
  }

  if (decoded.status !== 'complete') {
    // No header: a client straight to the gateway.
    if (settings.proxy_protocol === 'on') {
      return refuseWith(
        'PROXY protocol header required (proxy_protocol = on) but the connection did not start with one',
        fatal(
          SqlState.PROTOCOL_VIOLATION,
          'connections to this server must come through a balancer that sends a PROXY protocol header',
        ),
      );
    }
    socket.unshift(received);
    return true;
  }
  if (!trusted) {
    return refuseWith(
      'PROXY protocol header from an address not in proxy_protocol_trusted refused',
      fatal(
        SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
        `PROXY protocol header not accepted from host "${peer ?? ''}"`,
      ),
    );
  }
  const rest = received.subarray(decoded.length);
  const { header } = decoded;
  if (header.command === 'proxy' && header.source) {
    adoptClient(socket, header);
    log.debug(
      { client: header.source.address, balancer: peer, version: header.version },
      'PROXY protocol header accepted',
    );
  } else {
    // LOCAL (a balancer's health check) or a header without IP addresses: the spec says to
    // use the real endpoints. Nothing reaches the upstream unless a startup packet follows.
    log.debug(
      { balancer: peer, command: header.command },
      'PROXY protocol header without client address',
    );
  }
  if (rest.length > 0) socket.unshift(rest);
  return true;
}

/**
 * Runs `next` (the startup steps) after the PROXY header step, unless that step refused or
 * closed the connection.
 */
export async function withProxyHeader(
  socket: Socket,
  transport: 'tcp' | 'local',
  env: ConnectionEnvironment,
  next: (socket: Socket, transport: 'tcp' | 'local', env: ConnectionEnvironment) => Promise<void>,
): Promise<void> {
  const settings = env.current().settings;
  // Without PROXY headers, straight on (one await less for every connection).
  if (transport !== 'tcp' || settings.proxy_protocol === 'off') return next(socket, transport, env);
  if (await acceptProxyHeader(socket, transport, settings, env.logger, env.events)) {
    await next(socket, transport, env);
  }
}

/** The rest of the gateway reads the client from the socket: point it at the header's source. */
function adoptClient(socket: Socket, header: ProxyHeader): void {
  const source = header.source!;
  const family = source.address.includes(':') ? 'IPv6' : 'IPv4';
  Object.defineProperty(socket, 'remoteAddress', { value: source.address, configurable: true });
  Object.defineProperty(socket, 'remotePort', { value: source.port, configurable: true });
  Object.defineProperty(socket, 'remoteFamily', { value: family, configurable: true });
}

/**
 * Reads until `enough(bytesSoFar)`, in paused mode ('readable' and read()), and leaves the
 * socket as it was accepted: no listener of ours, not paused, not flowing. The startup steps
 * then read it like a fresh socket (a socket left paused would never deliver 'data' to them).
 */
function readPrefix(
  socket: Socket,
  enough: (received: Buffer) => boolean,
  signal: AbortSignal,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let received: Buffer = Buffer.alloc(0);
    const finish = () => {
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
      signal.removeEventListener('abort', onAbort);
    };
    const onReadable = () => {
      for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read()) {
        received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
        if (enough(received)) {
          finish();
          resolve(received);
          return;
        }
      }
    };
    const onEnd = () => {
      finish();
      reject(new StreamEndedError(received));
    };
    const onError = (error: Error) => {
      finish();
      reject(error);
    };
    const onAbort = () => {
      finish();
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onError);
  });
}

function decodeSafely(bytes: Buffer): ProxyHeaderDecode['status'] | 'error' {
  try {
    return decodeProxyHeader(bytes).status;
  } catch {
    return 'error';
  }
}
