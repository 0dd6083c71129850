// `pgtunnel ssh` as a library: binds the -L listeners, brings the SSH connection up (failing
// fast the first time, reconnecting afterwards), and optionally checks each target is PostgreSQL.
import { PgTunnelError } from '../errors.js';
import type { Logger } from '../log.js';
import type { BackoffOptions } from './backoff.js';
import { formatDestination } from './destination.js';
import type { ForwardSpec } from './forward-spec.js';
import { LocalForward } from './local-forward.js';
import { SshChain } from './ssh-chain.js';
import { SshSession } from './ssh-session.js';
import type { TunnelPlan } from './tunnel-plan.js';

/** Everything a tunnel needs; build `plan` with planTunnel(). */
export interface SshTunnelOptions {
  plan: TunnelPlan;
  forwards: readonly ForwardSpec[];
  /** The user's home directory (for messages that shorten paths to ~). */
  home: string;
  /** How long a new local connection waits for a lost SSH connection. Default 10 s. */
  connectWaitMs?: number;
  backoff?: BackoffOptions;
  /** Run the PostgreSQL check on every forward once connected; any failure rejects. */
  check?: boolean;
  /** Told each forward's check result as it comes, the failures too. */
  onCheck?: (result: { line: string; ok: boolean }) => void;
  /** Log ssh2's protocol trace at debug level (`-vvv`). */
  protocolTrace?: boolean;
  log: Logger;
}

/** A bound forward. */
export interface BoundForward {
  spec: ForwardSpec;
  address: string;
  port: number;
  /** Further addresses on the same port (::1 beside 127.0.0.1 for `localhost`). */
  alsoOn: string[];
}

export interface SshTunnel {
  readonly forwards: readonly BoundForward[];
  readonly session: SshSession;
  /** One line per forward when `check` was asked for. */
  readonly checks: readonly string[];
  /** Closes the listeners, the forwarded connections and the SSH connection. */
  close(): Promise<void>;
}

const DEFAULT_CONNECT_WAIT_MS = 10_000;

export async function startSshTunnel(options: SshTunnelOptions): Promise<SshTunnel> {
  const { plan, log } = options;
  if (options.forwards.length === 0) {
    throw new PgTunnelError(
      'ERR_USAGE',
      'nothing to forward: give at least one -L [bind_address:]port:host:hostport',
    );
  }
  const destination = plan.hops.at(-1);
  if (!destination) throw new PgTunnelError('ERR_USAGE', 'no SSH destination given');
  const description = formatDestination(destination);
  const session = new SshSession({
    connect: () => SshChain.connect(plan, options.home, log, options.protocolTrace),
    description,
    backoff: options.backoff,
    log,
  });
  const listeners = options.forwards.map(
    (spec) =>
      new LocalForward({
        spec,
        session,
        connectWaitMs: options.connectWaitMs ?? DEFAULT_CONNECT_WAIT_MS,
        addressFamily: plan.addressFamily,
        log: log.child({ forward: spec.text }),
      }),
  );
  const close = async () => {
    session.close();
    await Promise.all(listeners.map((l) => l.close()));
  };

  try {
    // Bind first: a busy port fails before anything goes over the network.
    const forwards: BoundForward[] = [];
    for (const [index, listener] of listeners.entries()) {
      const spec = options.forwards[index] as ForwardSpec;
      forwards.push({ spec, ...(await listener.listen()) });
    }
    await session.start();
    log.info(
      { hops: plan.hops.map((h) => formatDestination(h)) },
      `SSH connection to ${description} established`,
    );
    const checks: string[] = [];
    if (options.check) {
      // Every forward is checked, so one run reports them all, not only the first failure.
      const failures: string[] = [];
      for (const { spec } of forwards) {
        const { line, ok } = await checkForward(session, spec);
        options.onCheck?.({ line, ok });
        (ok ? checks : failures).push(line);
      }
      if (failures.length === 1) {
        throw new PgTunnelError('ERR_SSH_CHECK', `--check failed: ${failures[0]}`);
      }
      if (failures.length > 1) {
        throw new PgTunnelError(
          'ERR_SSH_CHECK',
          `--check failed for ${failures.length} of ${forwards.length} forwards: ${failures.join('; ')}`,
        );
      }
    }
    return { forwards, session, checks, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** One forward's check: PostgreSQL answering, or why not (a refused channel included). */
async function checkForward(
  session: SshSession,
  spec: ForwardSpec,
): Promise<{ line: string; ok: boolean }> {
  const target = `${spec.host.includes(':') ? `[${spec.host}]` : spec.host}:${spec.hostPort}`;
  try {
    // Loaded only for --check: it brings node:tls, which a plain tunnel never needs.
    const { checkPostgres, describeOutcome } = await import('./postgres-check.js');
    const channel = await session.openChannel(spec.host, spec.hostPort, 0);
    const outcome = await checkPostgres(channel);
    return { line: describeOutcome(outcome, target), ok: outcome.kind === 'postgres' };
  } catch (error) {
    return { line: error instanceof Error ? error.message : String(error), ok: false };
  }
}
