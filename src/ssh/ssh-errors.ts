// Turns ssh2's terse errors into messages that say what failed, where, and what to do.
import { PgTunnelError } from '../errors.js';
import type { AuthReport } from './auth.js';
import { formatDestination } from './destination.js';
import type { HopPlan } from './tunnel-plan.js';

/** An ssh2 error: a plain Error with a `level` naming the stage (client-socket, handshake …). */
type Ssh2Error = Error & { level?: string; code?: string; reason?: string | number };

/** Context for one hop's connection attempt. */
export interface HopContext {
  hop: HopPlan;
  /** The hop this one is reached through, if any. */
  via: HopPlan | undefined;
  connectTimeoutMs: number;
  keepalive: { intervalMs: number; countMax: number };
  report?: AuthReport | undefined;
  /** The refusal the host-key check recorded, if it refused. */
  hostKeyFailure?: PgTunnelError | undefined;
}

export function hopName(hop: HopPlan): string {
  return formatDestination(hop);
}

/** The error to show for a failed connection to (or session with) a hop. */
export function translateSshError(error: unknown, context: HopContext): PgTunnelError {
  if (error instanceof PgTunnelError) return error;
  const e = (error instanceof Error ? error : new Error(String(error))) as Ssh2Error;
  const { hop, via } = context;
  const where = `${hopName(hop)}${via ? ` (through ${hopName(via)})` : ''}`;
  const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

  if (context.hostKeyFailure) return context.hostKeyFailure;
  if (e.level === 'client-authentication') {
    const report = context.report;
    const accepted = report?.serverMethods.length
      ? `the server accepts ${report.serverMethods.join(', ')}`
      : 'the server did not say which methods it accepts';
    const tried = report?.tried.length
      ? `tried ${report.tried.join(', ')}`
      : 'no key was available to try';
    const notes = report?.notes.length ? `; ${report.notes.join('; ')}` : '';
    const onlyPasswords =
      report?.serverMethods.length && !report.serverMethods.includes('publickey')
        ? '. pgtunnel ssh authenticates with keys only (ssh-agent or -i)'
        : `. Check that the public key is in ~${hop.user}/.ssh/authorized_keys on ${hop.host}, or give the right key with -i`;
    return new PgTunnelError(
      'ERR_SSH_AUTH',
      `SSH authentication failed for ${where}: ${accepted}; ${tried}${notes}${onlyPasswords}`,
      { cause: e },
    );
  }
  if (e.code === 'ECONNREFUSED') {
    return new PgTunnelError(
      'ERR_SSH',
      `cannot connect to the SSH server ${where}: connection refused (is sshd running and listening on port ${hop.port}?)`,
      { cause: e },
    );
  }
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') {
    return new PgTunnelError(
      'ERR_SSH',
      `cannot connect to the SSH server ${where}: host name "${hop.host}" does not resolve`,
      { cause: e },
    );
  }
  if (e.code === 'ETIMEDOUT' || e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH') {
    return new PgTunnelError('ERR_SSH', `cannot connect to the SSH server ${where}: ${e.message}`, {
      cause: e,
    });
  }
  if (e.message === 'Timed out while waiting for handshake') {
    return new PgTunnelError(
      'ERR_SSH',
      `the SSH server ${where} did not finish connecting within ${seconds(context.connectTimeoutMs)} ` +
        '(ConnectTimeout); is it reachable, and is it an SSH server?',
      { cause: e },
    );
  }
  if (e.message === 'Keepalive timeout') {
    const { intervalMs, countMax } = context.keepalive;
    return new PgTunnelError(
      'ERR_SSH',
      `the SSH server ${where} stopped answering keep-alives (${countMax} missed, ` +
        `every ${seconds(intervalMs)}; ServerAliveInterval/ServerAliveCountMax)`,
      { cause: e },
    );
  }
  if (e.message === 'Connection lost before handshake') {
    return new PgTunnelError(
      'ERR_SSH',
      `${where} closed the connection before the SSH handshake (is it an SSH server? does sshd limit connections with MaxStartups?)`,
      { cause: e },
    );
  }
  if (e.level === 'handshake' || e.level === 'protocol') {
    return new PgTunnelError('ERR_SSH', `SSH handshake with ${where} failed: ${e.message}`, {
      cause: e,
    });
  }
  return new PgTunnelError('ERR_SSH', `SSH connection to ${where} failed: ${e.message}`, {
    cause: e,
  });
}

/** The error for a direct-tcpip channel the server would not open. */
export function channelRefused(
  error: unknown,
  server: HopPlan,
  host: string,
  port: number,
): PgTunnelError {
  const e = error as Ssh2Error;
  const detail = (e?.message ?? String(error)).replace(/^\(SSH\) Channel open failure: /, '');
  const target = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return new PgTunnelError(
    'ERR_SSH',
    `the SSH server ${hopName(server)} refused to open a channel to ${target}: ${detail}` +
      (/prohibited/i.test(detail) ? ' (sshd has AllowTcpForwarding no or a PermitOpen list)' : ''),
    { cause: error },
  );
}
