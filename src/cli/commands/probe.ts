// `pgtunnel probe HOST:PORT`: a credential-less check for health probes and scripts. It opens
// a connection as libpq would (SSLRequest, or direct TLS), completes the TLS handshake with the
// chosen sslmode's verification, reports what it saw and disconnects before any startup
// packet, so the server logs no failed login. Exit status 0 when TLS works, 1 when not.
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { describeError, PgTunnelError } from '../../errors.js';
import type { ConnInfo } from '../../libpq/conninfo.js';
import { openTlsTransport } from '../../libpq/upstream-session.js';
import { targetsFromConnInfo } from '../../libpq/upstream-target.js';
import { parseSocketAddress } from '../../net/address.js';
import { exitWithError } from '../exit.js';

interface ProbeOptions {
  sslmode: string;
  sslrootcert?: string;
  servername?: string;
  sslnegotiation: string;
  connectTimeout: string;
  ready?: string;
}

/** Only modes that insist on TLS make sense for a TLS probe. */
const PROBE_SSL_MODES = ['require', 'verify-ca', 'verify-full'];

export function registerProbe(program: Command): void {
  program
    .command('probe')
    .description(
      'Check that a server answers TLS (SSLRequest, handshake, certificate) without logging in; exit 0 if so',
    )
    .argument('<host:port>', 'the server, e.g. 127.0.0.1:6432 or db.example.com:5432')
    .option('--sslmode <mode>', `one of ${PROBE_SSL_MODES.join(', ')}`, 'require')
    .option('--sslrootcert <file>', "CA certificates to verify the server with, or 'system'")
    .option(
      '--servername <name>',
      'the name to send as SNI and, with verify-full, to check the certificate against (default: the host)',
    )
    .option('--sslnegotiation <how>', "'postgres' (SSLRequest first) or 'direct'", 'postgres')
    .option('--connect-timeout <seconds>', 'give up after this long per address', '10')
    .option(
      '--ready <host:port>',
      "first ask the gateway's admin endpoint (admin_listen) whether it is ready: GET /ready must answer 200",
    )
    .action((hostPort: string, options: ProbeOptions) =>
      runProbe(hostPort, options).catch(exitWithError),
    );
}

async function runProbe(hostPort: string, options: ProbeOptions): Promise<void> {
  const address = parseSocketAddress(hostPort, { defaultHost: '127.0.0.1' });
  if (address.kind !== 'tcp') {
    throw new PgTunnelError(
      'ERR_USAGE',
      `probe needs HOST:PORT, not a unix socket ("${hostPort}")`,
    );
  }
  if (!PROBE_SSL_MODES.includes(options.sslmode)) {
    throw new PgTunnelError(
      'ERR_USAGE',
      `--sslmode must be one of ${PROBE_SSL_MODES.join(', ')} (a probe checks TLS), not "${options.sslmode}"`,
    );
  }
  if (!/^\d+$/.test(options.connectTimeout) || Number(options.connectTimeout) < 1) {
    throw new PgTunnelError(
      'ERR_USAGE',
      '--connect-timeout must be a whole number of seconds (1 or more)',
    );
  }
  // With --servername the name is what libpq calls `host` and the address its `hostaddr`.
  const name = options.servername ?? address.host;
  const info: ConnInfo = {
    host: name,
    ...(options.servername !== undefined && isIP(address.host) !== 0
      ? { hostaddr: address.host }
      : {}),
    port: String(address.port),
    sslmode: options.sslmode,
    sslnegotiation: options.sslnegotiation,
    connect_timeout: options.connectTimeout,
    ...(options.sslrootcert !== undefined ? { sslrootcert: options.sslrootcert } : {}),
  };
  if (options.servername !== undefined && isIP(address.host) === 0) {
    throw new PgTunnelError(
      'ERR_USAGE',
      `with --servername, give the address to connect to as a numeric IP (not "${address.host}")`,
    );
  }
  if (options.ready !== undefined) await checkReady(options.ready, Number(options.connectTimeout));
  const [target] = targetsFromConnInfo(info);
  if (!target) throw new PgTunnelError('ERR_USAGE', `nothing to probe in "${hostPort}"`);
  const { socket, address: reached } = await openTlsTransport(target);
  try {
    const certificate = socket.getPeerX509Certificate();
    const verified =
      options.sslmode === 'verify-full'
        ? `, verified for "${name}"`
        : options.sslmode === 'verify-ca'
          ? ', chain verified'
          : ', not verified (sslmode=require)';
    const cipher = socket.getCipher();
    console.log(
      `${reached}: ${socket.getProtocol() ?? 'TLS'} (${cipher.standardName ?? cipher.name}), certificate "${certificate?.subject.replaceAll('\n', ', ') ?? 'none'}"${verified}`,
    );
  } finally {
    // close_notify, then close: nothing was sent that the server would log as a failed login.
    await new Promise<void>((resolve) => socket.end(() => resolve()));
    socket.destroy();
  }
}

/** GET /ready on the admin endpoint: a draining or starting gateway is not ready. */
async function checkReady(adminAddress: string, timeoutSeconds: number): Promise<void> {
  const address = parseSocketAddress(adminAddress, { defaultHost: '127.0.0.1' });
  if (address.kind !== 'tcp') {
    throw new PgTunnelError('ERR_USAGE', `--ready needs HOST:PORT, not "${adminAddress}"`);
  }
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  const url = `http://${host}:${address.port}/ready`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutSeconds * 1000) });
  } catch (error) {
    throw new PgTunnelError(
      'ERR_UPSTREAM_CONNECT',
      `could not ask ${url}: ${describeError((error as { cause?: unknown }).cause ?? error)} (is admin_listen set to this address?)`,
    );
  }
  const body = (await response.text()).trim();
  if (response.status !== 200) {
    throw new PgTunnelError(
      'ERR_UPSTREAM_CONNECT',
      `not ready: ${url} answered ${response.status} ${body}`,
    );
  }
}
