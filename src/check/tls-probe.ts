// The TLS layer of the target, probed one question per handshake: each protocol version on
// its own, the cipher suites each version accepts, key exchange groups, client-initiated
// renegotiation and session resumption. Node's OpenSSL 3 offers TLS 1.0/1.1 and legacy suites
// only at security level 0, so every probe asks for `@SECLEVEL=0`: we want to see what the
// server accepts, not what a modern client would offer.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { readUntil } from '../net/read-bytes.js';
import { ALPN_POSTGRESQL } from '../protocol/codes.js';
import { encodeStartupMessage } from '../protocol/frontend.js';
import type { Answer, TlsFacts, TlsVersion, VersionScan } from './facts.js';
import { handshake, type ProbeContext, ProbeFailure, type TlsRoute } from './probe-connection.js';

/** Every TLS 1.2-and-older suite OpenSSL can offer, weakest included. */
const ALL_LEGACY_SUITES = 'ALL:COMPLEMENTOFALL';
/** The TLS 1.3 suites OpenSSL implements. */
export const TLS13_SUITES = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_128_CCM_SHA256',
  'TLS_AES_128_CCM_8_SHA256',
] as const;

/** Groups tried one at a time (OpenSSL names). */
export const KEY_EXCHANGE_GROUPS = [
  'X25519',
  'prime256v1',
  'secp384r1',
  'secp521r1',
  'X448',
  'ffdhe2048',
  'ffdhe3072',
  'ffdhe4096',
] as const;

/** A safety bound on the elimination loop of a cipher scan. */
const MAX_SUITES_PER_VERSION = 200;

/** The cipher string that offers every suite of `version` except those in `excluded`. */
export function cipherStringFor(
  version: TlsVersion,
  excluded: readonly string[],
): string | undefined {
  if (version === 'TLSv1.3') {
    const remaining = TLS13_SUITES.filter((suite) => !excluded.includes(suite));
    if (remaining.length === 0) return undefined;
    // Node routes TLS_* names to the TLS 1.3 list; the legacy part only has to be valid.
    return [...remaining, 'DEFAULT', '@SECLEVEL=0'].join(':');
  }
  return [ALL_LEGACY_SUITES, ...excluded.map((suite) => `!${suite}`), '@SECLEVEL=0'].join(':');
}

/** Client options every probe shares: the route's ALPN and the client certificate if given. */
export function baseTlsOptions(ctx: ProbeContext, route: TlsRoute): ConnectionOptions {
  const options: ConnectionOptions = {};
  if (route === 'direct') options.ALPNProtocols = [ALPN_POSTGRESQL];
  const { sslcert, sslkey, sslpassword } = ctx.target;
  if (sslcert && sslkey) {
    options.cert = readFileSync(sslcert);
    options.key = readFileSync(sslkey);
    if (sslpassword) options.passphrase = sslpassword;
  }
  return options;
}

interface Attempt {
  ok: boolean;
  cipher?: string;
  version?: string;
  group?: string;
  error?: string;
}

async function attempt(
  ctx: ProbeContext,
  route: TlsRoute,
  options: ConnectionOptions,
): Promise<Attempt> {
  try {
    return await handshakeOnce(ctx, route, options);
  } catch (error) {
    // A connection that fails or times out is an answer too: this handshake did not happen.
    if (error instanceof ProbeFailure) return { ok: false, error: error.message };
    throw error;
  }
}

function handshakeOnce(
  ctx: ProbeContext,
  route: TlsRoute,
  options: ConnectionOptions,
): Promise<Attempt> {
  return handshake(ctx, route, { ...baseTlsOptions(ctx, route), ...options }, (outcome) => {
    if (!outcome.ok) return { ok: false, error: outcome.error };
    const socket = outcome.socket;
    const key = socket.getEphemeralKeyInfo();
    const group = key && 'name' in key ? key.name : key && 'type' in key ? key.type : undefined;
    return {
      ok: true,
      cipher: socket.getCipher().name,
      version: socket.getProtocol() ?? undefined,
      ...(group ? { group } : {}),
    };
  });
}

/**
 * One version: the suites it accepts, found by offering everything, noting the suite the
 * server picks, and offering everything else again until the server refuses (as sslscan does).
 */
export async function scanVersion(
  ctx: ProbeContext,
  route: TlsRoute,
  version: TlsVersion,
  onHandshake: () => void = () => {},
): Promise<VersionScan> {
  const accepted: string[] = [];
  let firstError: string | undefined;
  while (accepted.length < MAX_SUITES_PER_VERSION) {
    const ciphers = cipherStringFor(version, accepted);
    if (ciphers === undefined) break;
    // When the exclusions leave nothing to offer, Node refuses the cipher string: that
    // attempt fails like a refused handshake and ends the scan.
    const result = await attempt(ctx, route, { minVersion: version, maxVersion: version, ciphers });
    onHandshake();
    if (!result.ok || result.version !== version || !result.cipher) {
      if (accepted.length === 0)
        firstError = result.error ?? `the server answered with ${result.version}`;
      break;
    }
    if (accepted.includes(result.cipher)) break;
    accepted.push(result.cipher);
  }
  return accepted.length > 0
    ? { accepted: true, ciphers: accepted }
    : { accepted: false, ciphers: [], ...(firstError ? { detail: firstError } : {}) };
}

/** The highest version the server accepted, with the suites to offer for it. */
export function bestVersion(versions: TlsFacts['versions']): TlsVersion | undefined {
  const order: TlsVersion[] = ['TLSv1.3', 'TLSv1.2', 'TLSv1.1', 'TLSv1'];
  return order.find((version) => versions[version].accepted);
}

/** Whether the server completes a handshake with only `group` offered. */
export async function probeGroup(
  ctx: ProbeContext,
  route: TlsRoute,
  group: string,
  version: TlsVersion,
): Promise<{ name: string; accepted: boolean }> {
  const result = await attempt(ctx, route, {
    minVersion: version,
    maxVersion: version,
    ecdhCurve: group,
    // TLS 1.2 negotiates groups only for ECDHE suites; offer nothing else.
    ciphers:
      version === 'TLSv1.3' ? `${TLS13_SUITES.join(':')}:DEFAULT:@SECLEVEL=0` : 'ECDHE:@SECLEVEL=0',
  });

  return { name: group, accepted: result.ok };
}

/** Client-initiated renegotiation on TLS 1.2 (TLS 1.3 has none). */
export async function probeRenegotiation(
  ctx: ProbeContext,
  route: TlsRoute,
): Promise<TlsFacts['renegotiation']> {
  return handshake(
    ctx,
    route,
    {
      ...baseTlsOptions(ctx, route),
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.2',
      ciphers: `${ALL_LEGACY_SUITES}:@SECLEVEL=0`,
    },
    (outcome, signal) => {
      if (!outcome.ok)
        return { answer: 'unknown' as const, detail: `no TLS 1.2 session: ${outcome.error}` };
      const socket = outcome.socket;
      return new Promise<Answer<'refused' | 'allowed' | 'unknown'>>((resolve) => {
        const done = (answer: Answer<'refused' | 'allowed' | 'unknown'>) => {
          signal.removeEventListener('abort', onAbort);
          resolve(answer);
        };
        const onAbort = () =>
          done({
            answer: 'unknown',
            detail: 'the server did not answer the renegotiation request in time',
          });
        signal.addEventListener('abort', onAbort, { once: true });
        socket.once('error', (error) =>
          done({ answer: 'refused', detail: firstLine(error.message) }),
        );
        socket.once('close', () =>
          done({ answer: 'refused', detail: 'the server closed the connection' }),
        );
        const started = socket.renegotiate({ rejectUnauthorized: false }, (error) =>
          done(
            error ? { answer: 'refused', detail: firstLine(error.message) } : { answer: 'allowed' },
          ),
        );
        if (!started) done({ answer: 'unknown', detail: 'renegotiation could not be started' });
      });
    },
  );
}

function firstLine(text: string): string {
  return /:SSL routines:[^:]*:([^:]+):/.exec(text)?.[1] ?? text.split('\n')[0] ?? text;
}

/**
 * Waits until the server has said something after the handshake, so that a TLS 1.3 session
 * ticket (sent before any application data) has arrived: a StartupMessage makes a PostgreSQL
 * server answer.
 */
async function sessionAfterFirstAnswer(
  socket: TLSSocket,
  signal: AbortSignal,
  user: string,
): Promise<Buffer | undefined> {
  let session: Buffer | undefined;
  socket.on('session', (s: Buffer) => {
    session = s;
  });
  if (socket.getProtocol() !== 'TLSv1.3') return socket.getSession();
  socket.write(
    encodeStartupMessage([
      ['user', user],
      ['database', user],
    ]),
  );
  await readUntil(socket, (bytes) => bytes.length > 0, signal).catch(() => undefined);
  return session;
}

/** Whether a second connection can resume the first one's session (ticket or session ID). */
export async function probeResumption(
  ctx: ProbeContext,
  route: TlsRoute,
  version: TlsVersion,
  user: string,
): Promise<TlsFacts['resumption']> {
  const options = {
    ...baseTlsOptions(ctx, route),
    minVersion: version,
    maxVersion: version,
    ciphers: cipherStringFor(version, []),
  };
  const session = await handshake(ctx, route, options, (outcome, signal) =>
    outcome.ok ? sessionAfterFirstAnswer(outcome.socket, signal, user) : undefined,
  );
  if (!session)
    return { answer: 'not-resumed', detail: 'the server issued no session ticket or session ID' };
  return handshake(ctx, route, { ...options, session }, (outcome) => {
    if (!outcome.ok) return { answer: 'unknown' as const, detail: outcome.error };
    return outcome.socket.isSessionReused()
      ? { answer: 'resumed' as const }
      : {
          answer: 'not-resumed' as const,
          detail: 'the server did not accept the session it issued',
        };
  });
}
