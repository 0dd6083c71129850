// libpq's wording for connection failures: the per-server prefix, strerror() texts for
// Node's errno codes, getaddrinfo() texts, and the hints libpq adds after a failed connect().
import type { SocketAddress } from '../net/address.js';

/** strerror() on Linux for the errno codes a connection attempt can meet. */
const STRERROR: Record<string, string> = {
  ECONNREFUSED: 'Connection refused',
  ECONNRESET: 'Connection reset by peer',
  ECONNABORTED: 'Software caused connection abort',
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  ETIMEDOUT: 'Connection timed out',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  EHOSTDOWN: 'Host is down',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  EADDRINUSE: 'Address already in use',
  EPIPE: 'Broken pipe',
  ENOTSOCK: 'Socket operation on non-socket',
  EAGAIN: 'Resource temporarily unavailable',
  EMFILE: 'Too many open files',
  ENAMETOOLONG: 'File name too long',
  ENOTDIR: 'Not a directory',
};

/** gai_strerror() for Node's DNS error codes. */
const GAI_STRERROR: Record<string, string> = {
  ENOTFOUND: 'Name or service not known',
  EAI_NONAME: 'Name or service not known',
  EAI_AGAIN: 'Temporary failure in name resolution',
  EAI_FAIL: 'Non-recoverable failure in name resolution',
  ENODATA: 'No address associated with hostname',
  EAI_NODATA: 'No address associated with hostname',
  EAI_FAMILY: 'ai_family not supported',
  EAI_MEMORY: 'Memory allocation failure',
};

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The strerror() text for a system error, falling back to Node's message. */
export function systemErrorText(error: unknown): string {
  const code = errorCode(error);
  if (code && STRERROR[code]) return STRERROR[code];
  return error instanceof Error ? error.message : String(error);
}

/** `could not translate host name "…" to address: …` as libpq prints it. */
export function hostLookupFailure(host: string, error: unknown): string {
  const code = errorCode(error);
  const text = (code && GAI_STRERROR[code]) || systemErrorText(error);
  return `could not translate host name "${host}" to address: ${text}`;
}

/**
 * The prefix libpq puts before every failure of one server address (emitHostIdentityInfo()):
 * with `hostaddr` the address itself is shown (not `host`, which is only used for the
 * certificate check); otherwise `host`, followed by the resolved address when it differs.
 */
export function serverPrefix(
  address: SocketAddress,
  shown: { host: string; hostaddrGiven: boolean },
): string {
  if (address.kind === 'unix') {
    const path = address.path.startsWith('\0') ? `@${address.path.slice(1)}` : address.path;
    return `connection to server on socket "${path}" failed: `;
  }
  const displayed = shown.hostaddrGiven ? address.host : shown.host || address.host;
  if (displayed !== address.host) {
    return `connection to server at "${displayed}" (${address.host}), port ${address.port} failed: `;
  }
  return `connection to server at "${displayed}", port ${address.port} failed: `;
}

/** The hint libpq prints after connect() itself failed. */
export function connectFailureHint(address: SocketAddress): string {
  return address.kind === 'unix'
    ? 'Is the server running locally and accepting connections on that socket?'
    : 'Is the server running on that host and accepting TCP/IP connections?';
}

/** What libpq says when the server hangs up during start-up. */
export const SERVER_CLOSED_UNEXPECTEDLY =
  'server closed the connection unexpectedly\n' +
  '\tThis probably means the server terminated abnormally\n' +
  '\tbefore or while processing the request.';
