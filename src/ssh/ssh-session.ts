// Keeps an SSH connection (chain of hops) up for as long as the tunnel runs: connects, and
// after a drop reconnects with capped exponential backoff. Channel requests made while it is
// down wait, up to a bound, for it to come back.
import { EventEmitter } from 'node:events';
import type { ClientChannel } from 'ssh2';
import { PgTunnelError } from '../errors.js';
import type { Logger } from '../log.js';
import { type BackoffOptions, backoffDelay } from './backoff.js';
import type { SshChain } from './ssh-chain.js';

export type SessionState = 'idle' | 'connecting' | 'up' | 'reconnecting' | 'closed';

/** What started a reconnect attempt: the backoff timer, or a client waiting for the tunnel. */
export type AttemptTrigger = 'schedule' | 'client';

/**
 * While clients wait, attempts are made at least this often, whatever the backoff says, and no
 * more often: a storm of arriving clients is one attempt per interval, never one per client.
 */
export const ON_DEMAND_INTERVAL_MS = 1_000;

export interface SshSessionOptions {
  /** Opens a fresh connection (re-reading known_hosts and keys each time). */
  connect: () => Promise<SshChain>;
  /** Names the tunnel in messages ("root@bastion:22"). */
  description: string;
  backoff?: BackoffOptions;
  log: Logger;
}

/**
 * Events: `up` (after each (re)connection), `down` (reason: PgTunnelError) when a live
 * connection drops, `retry-failed` (error, delayMs) for each failed reconnect attempt.
 */
export class SshSession extends EventEmitter {
  private chain: SshChain | undefined;
  private stateValue: SessionState = 'idle';
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires (ms since epoch); 0 when none is armed. */
  private timerDueAt = 0;
  private attemptInFlight = false;
  private lastAttemptAt = 0;
  /** Local connections currently waiting for the tunnel to come back. */
  private waiting = 0;
  private downSince = 0;
  /** Why the connection is down (the drop, then the latest failed attempt). */
  lastError: PgTunnelError | undefined;

  constructor(private readonly options: SshSessionOptions) {
    super();
    this.setMaxListeners(0); // every waiting local connection listens for `up`
  }

  get state(): SessionState {
    return this.stateValue;
  }

  /** The first connection. Rejects (without retrying) when it fails, as ssh does. */
  async start(): Promise<void> {
    if (this.stateValue !== 'idle') throw new Error('SshSession.start called twice');
    this.stateValue = 'connecting';
    try {
      this.adopt(await this.options.connect());
    } catch (error) {
      this.stateValue = 'closed';
      throw error;
    }
  }

  /**
   * A channel to host:port, waiting up to `waitMs` for the connection if it is down.
   * Rejects with the reason the tunnel is down, or the server's refusal.
   */
  async openChannel(
    host: string,
    port: number,
    waitMs: number,
    origin?: { address: string; port: number },
  ): Promise<ClientChannel> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const chain = this.chain;
      if (this.stateValue === 'closed') {
        throw new PgTunnelError('ERR_SSH', 'the SSH tunnel is shutting down');
      }
      if (chain && !chain.isClosed) {
        try {
          return await chain.openChannel(host, port, origin);
        } catch (error) {
          // A refusal by a live server is final; a connection that died meanwhile is not.
          if (!chain.isClosed) throw error;
        }
      }
      await this.waitForUp(deadline);
    }
  }

  /** How many reconnect attempts are running (0 or 1: attempts never overlap). */
  get attemptsInFlight(): number {
    return this.attemptInFlight ? 1 : 0;
  }

  /** Stops reconnecting and closes the connection. */
  close(): void {
    if (this.stateValue === 'closed') return;
    this.stateValue = 'closed';
    this.disarm();
    this.chain?.close();
    this.chain = undefined;
    this.emit('closed');
  }

  private waitForUp(deadline: number): Promise<void> {
    const remaining = deadline - Date.now();
    if (remaining <= 0 || this.stateValue === 'closed') return Promise.reject(this.downError());
    return new Promise((resolve, reject) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.waiting--;
        this.off('up', onUp);
        this.off('closed', onClosed);
        if (ok) resolve();
        else reject(this.downError());
      };
      const onUp = () => done(true);
      const onClosed = () => done(false);
      const timer = setTimeout(() => done(false), remaining);
      this.on('up', onUp);
      this.on('closed', onClosed);
      this.waiting++;
      this.requestAttempt();
    });
  }

  /**
   * A client is waiting: try now rather than when the backoff says, unless an attempt is
   * running or one started less than ON_DEMAND_INTERVAL_MS ago (then try when that has passed).
   */
  private requestAttempt(): void {
    if (this.stateValue !== 'reconnecting' || this.attemptInFlight) return;
    const earliest = this.lastAttemptAt + ON_DEMAND_INTERVAL_MS;
    if (this.timerDueAt !== 0 && this.timerDueAt <= earliest) return; // due soon anyway
    this.arm(Math.max(0, earliest - Date.now()), 'client');
  }

  private arm(delayMs: number, trigger: AttemptTrigger): void {
    this.disarm();
    this.timerDueAt = Date.now() + delayMs;
    this.timer = setTimeout(() => {
      this.timerDueAt = 0;
      void this.attemptReconnect(trigger);
    }, delayMs);
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDueAt = 0;
  }

  private downError(): PgTunnelError {
    if (this.stateValue === 'closed') {
      return new PgTunnelError('ERR_SSH', 'the SSH tunnel is shutting down');
    }
    const since = this.downSince
      ? ` for ${Math.round((Date.now() - this.downSince) / 1000)} s`
      : '';
    return new PgTunnelError(
      'ERR_SSH',
      `the SSH tunnel to ${this.options.description} is down${since}, reconnecting` +
        (this.lastError ? `: ${this.lastError.message}` : ''),
      { cause: this.lastError },
    );
  }

  private adopt(chain: SshChain, trigger?: AttemptTrigger): void {
    const wasDown = this.stateValue === 'reconnecting';
    this.disarm();
    this.chain = chain;
    this.stateValue = 'up';
    this.attempt = 0;
    chain.once('close', (reason: PgTunnelError) => this.onDrop(chain, reason));
    if (wasDown) {
      this.options.log.info(
        { downForMs: Date.now() - this.downSince, trigger },
        `SSH connection to ${this.options.description} re-established`,
      );
    }
    this.downSince = 0;
    this.lastError = undefined;
    this.emit('up');
  }

  private onDrop(chain: SshChain, reason: PgTunnelError): void {
    if (this.chain !== chain || this.stateValue === 'closed') return;
    this.chain = undefined;
    this.stateValue = 'reconnecting';
    this.downSince = Date.now();
    this.lastError = reason;
    this.options.log.warn(
      { reason: reason.message },
      `SSH connection to ${this.options.description} lost; reconnecting: ${reason.message}`,
    );
    this.emit('down', reason);
    this.attempt = 0;
    this.scheduleAttempt();
  }

  /**
   * Arms the timer for the next attempt and returns its delay: the backoff's, or, while
   * clients wait, no later than ON_DEMAND_INTERVAL_MS after the last attempt began.
   */
  private scheduleAttempt(): number {
    const backoff = backoffDelay(this.attempt++, this.options.backoff);
    const onDemand = Math.max(0, this.lastAttemptAt + ON_DEMAND_INTERVAL_MS - Date.now());
    if (this.waiting > 0 && onDemand < backoff) {
      this.arm(onDemand, 'client');
      return onDemand;
    }
    this.arm(backoff, 'schedule');
    return backoff;
  }

  private async attemptReconnect(trigger: AttemptTrigger): Promise<void> {
    if (this.stateValue !== 'reconnecting' || this.attemptInFlight) return;
    this.attemptInFlight = true;
    this.lastAttemptAt = Date.now();
    if (trigger === 'client') {
      this.options.log.info(
        { waiting: this.waiting },
        `a client is waiting: trying to reconnect to ${this.options.description} now`,
      );
    }
    let chain: SshChain;
    try {
      chain = await this.options.connect();
    } catch (error) {
      this.attemptInFlight = false;
      if (this.stateValue !== 'reconnecting') return;
      this.lastError =
        error instanceof PgTunnelError ? error : new PgTunnelError('ERR_SSH', String(error));
      const attempt = this.attempt;
      const next = this.scheduleAttempt();
      this.options.log.warn(
        { attempt, trigger, retryInMs: next },
        `SSH reconnect failed: ${this.lastError.message}`,
      );
      this.emit('retry-failed', this.lastError, next);
      return;
    }
    this.attemptInFlight = false;
    if (this.stateValue !== 'reconnecting') {
      chain.close();
      return;
    }
    this.adopt(chain, trigger);
  }
}
