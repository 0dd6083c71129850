// Where the SCRAM proxy gets a user's secret: auth_query run as auth_user, with a short cache
// and one lookup at a time per user. A stale cached secret is harmless: the server still
// checks the proof the gateway forwards, and a failure drops the entry.
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseScramSecret, type ScramSecret } from '../../auth/scram.js';
import type { Settings } from '../../config/settings.js';
import { resolveConnInfo } from '../../libpq/conninfo.js';
import { passwordFromPassfile } from '../../libpq/passfile.js';
import type { UpstreamTarget } from '../../libpq/upstream-session.js';
import { defaultSocketDirectory } from '../../libpq/upstream-target.js';
import type { Logger } from '../../log.js';
import { type AuthQueryOptions, runAuthQuery } from './auth-secret-query.js';

/** How long a looked-up secret is reused. */
export const SECRET_CACHE_TTL_MS = 30_000;

export type SecretLookup =
  | { found: true; secret: ScramSecret; cached: boolean }
  /** No row, NULL, or not a SCRAM secret (an MD5 hash): PostgreSQL's "no valid SCRAM secret". */
  | { found: false; reason: string };

/** A source of SCRAM secrets; lookup rejects when the source itself fails (log, don't show). */
export interface ScramSecretSource {
  lookup(user: string, signal: AbortSignal): Promise<SecretLookup>;
  /** Drops a cached secret (after a failed authentication it may be outdated). */
  forget(user: string): void;
}

export interface AuthQuerySecretsOptions extends AuthQueryOptions {
  /** Upper bound of one lookup (connect, login, query). */
  timeoutMs: number;
  ttlMs?: number;
  now?: () => number;
}

export class AuthQuerySecrets implements ScramSecretSource {
  private readonly cache = new Map<string, { secret: ScramSecret; expires: number }>();
  private readonly inflight = new Map<string, Promise<SecretLookup>>();

  constructor(private readonly options: AuthQuerySecretsOptions) {}

  async lookup(user: string, signal: AbortSignal): Promise<SecretLookup> {
    const now = (this.options.now ?? Date.now)();
    const entry = this.cache.get(user);
    if (entry && entry.expires > now) return { found: true, secret: entry.secret, cached: true };
    this.cache.delete(user);
    let pending = this.inflight.get(user);
    if (!pending) {
      // Shared by every connection waiting for this user, so bounded by its own deadline
      // rather than by any one client's.
      pending = this.query(user).finally(() => this.inflight.delete(user));
      this.inflight.set(user, pending);
    }
    return abortable(pending, signal);
  }

  forget(user: string): void {
    this.cache.delete(user);
  }

  private async query(user: string): Promise<SecretLookup> {
    const { timeoutMs, ttlMs, now, ...query } = this.options;
    const value = await runAuthQuery(query, user, AbortSignal.timeout(timeoutMs));
    if (value === null) return { found: false, reason: `Role "${user}" does not exist.` };
    const secret = parseScramSecret(value);
    if (!secret)
      return { found: false, reason: `User "${user}" does not have a valid SCRAM secret.` };
    this.cache.set(user, {
      secret,
      expires: (now ?? Date.now)() + (ttlMs ?? SECRET_CACHE_TTL_MS),
    });
    return { found: true, secret, cached: false };
  }
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * libpq's password lookup for auth_user: password= (or PGPASSWORD) from the upstream
 * conninfo, else the password file (passfile=, PGPASSFILE, ~/.pgpass), which libpq ignores
 * unless it is a plain file without group or world access.
 */
export function authUserPassword(
  settings: Pick<Settings, 'upstream' | 'auth_user' | 'auth_dbname'>,
  upstream: UpstreamTarget,
  log: Logger,
): string | undefined {
  const info = resolveConnInfo(settings.upstream);
  if (info.password !== undefined && info.password !== '') return info.password;
  const file = info.passfile || join(homedir(), '.pgpass');
  let text: string;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) {
      log.warn({ file }, `password file "${file}" is not a plain file`);
      return undefined;
    }
    if (stat.mode & 0o077) {
      log.warn(
        { file },
        `password file "${file}" has group or world access; permissions should be u=rw (0600) or less`,
      );
      return undefined;
    }
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined; // no password file is not an error, as in libpq
  }
  return passwordFromPassfile(
    text,
    {
      host: upstream.host || upstream.hostaddr || '',
      port: upstream.port,
      database: settings.auth_dbname,
      user: settings.auth_user,
    },
    defaultSocketDirectory(),
  );
}

/** The generation parts a secret source is built from. */
interface SecretSourceInputs {
  readonly settings: Settings;
  readonly upstreams: readonly UpstreamTarget[];
}

const sources = new WeakMap<SecretSourceInputs, ScramSecretSource>();

/**
 * The secret source of a configuration generation (its cache lives and dies with it), or
 * undefined when auth_user is not set.
 */
export function secretSourceFor(
  generation: SecretSourceInputs,
  log: Logger,
): ScramSecretSource | undefined {
  const { settings, upstreams } = generation;
  if (settings.auth_user === '') return undefined;
  let source = sources.get(generation);
  if (!source) {
    source = new AuthQuerySecrets({
      upstreams,
      authUser: settings.auth_user,
      authDbname: settings.auth_dbname,
      authQuery: settings.auth_query,
      password: (target) => authUserPassword(settings, target, log),
      timeoutMs: settings.authentication_timeout,
    });
    sources.set(generation, source);
  }
  return source;
}
