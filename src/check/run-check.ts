// Runs every probe against one target, concurrently under a shared bound, and collects the
// facts. Order matters only where one answer decides the next question (no TLS scan without
// a way to reach TLS; the certificate is read with the best version the server accepts).

import { probeCertificate } from './certificate-probe.js';
import type { CheckTarget } from './check-target.js';
import { probeDatabase } from './database-probe.js';
import {
  type TargetFacts,
  TLS_VERSIONS,
  type TlsFacts,
  type TlsVersion,
  type VersionScan,
} from './facts.js';
import type { Limit } from './limiter.js';
import {
  PROBE_STARTUP_USER,
  probeDirectTls,
  probeGssEncRequest,
  probeSslRequest,
} from './negotiation-probe.js';
import { type ProbeContext, ProbeFailure, type TlsRoute } from './probe-connection.js';
import { probePlaintextStartup, probeTlsStartup } from './startup-probe.js';
import {
  bestVersion,
  KEY_EXCHANGE_GROUPS,
  probeGroup,
  probeRenegotiation,
  probeResumption,
  scanVersion,
} from './tls-probe.js';

/** A target that could not be checked: not reachable, or not speaking PostgreSQL. */
export class TargetUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetUnreachableError';
  }
}

export interface RunOptions {
  timeoutMs: number;
  limit: Limit;
  /** Called whenever a probe finishes (for the progress line). */
  onProbe?: (target: CheckTarget, phase: string) => void;
  now?: Date;
}

export async function checkTarget(target: CheckTarget, options: RunOptions): Promise<TargetFacts> {
  const ctx: ProbeContext = { target, timeoutMs: options.timeoutMs };
  const probe = <T>(phase: string, task: () => Promise<T>): Promise<T> =>
    options.limit(task).finally(() => options.onProbe?.(target, phase));
  const user = target.user ?? PROBE_STARTUP_USER;
  const database = target.user ? target.dbname : PROBE_STARTUP_USER;

  let sslRequest: TargetFacts['negotiation']['sslRequest'];
  try {
    sslRequest = await probe('negotiation', () => probeSslRequest(ctx));
  } catch (error) {
    if (error instanceof ProbeFailure) throw new TargetUnreachableError(error.message);
    throw error;
  }
  const [gssEncRequest, directTlsAlpn, directTlsNoAlpn, plaintext] = await Promise.all([
    probe('negotiation', () => probeGssEncRequest(ctx)),
    probe('negotiation', () => probeDirectTls(ctx, true)),
    probe('negotiation', () => probeDirectTls(ctx, false)),
    probe('plaintext startup', () => probePlaintextStartup(ctx, user, database)),
  ]);
  const negotiation = { sslRequest, gssEncRequest, directTlsAlpn, directTlsNoAlpn };
  if (
    sslRequest.answer !== 'S' &&
    sslRequest.answer !== 'N' &&
    directTlsAlpn.answer !== 'accepted'
  ) {
    throw new TargetUnreachableError(
      `it does not answer as a PostgreSQL server (SSLRequest: ${sslRequest.detail ?? sslRequest.answer}; direct TLS: ${directTlsAlpn.detail ?? directTlsAlpn.answer})`,
    );
  }
  const facts: TargetFacts = { negotiation, authentication: { user, plaintext } };

  const route: TlsRoute | undefined =
    sslRequest.answer === 'S' && target.sslnegotiation !== 'direct'
      ? 'sslrequest'
      : directTlsAlpn.answer === 'accepted'
        ? 'direct'
        : sslRequest.answer === 'S'
          ? 'sslrequest'
          : undefined;
  if (route)
    facts.tls = await scanTls(ctx, route, probe, user, database, facts, options.now, (phase) =>
      options.onProbe?.(target, phase),
    );
  if (target.user) {
    facts.database =
      route === 'direct' && sslRequest.answer !== 'S'
        ? {
            login: {
              ok: false,
              skipped: true,
              error:
                'this endpoint takes only direct TLS, which the login checks do not use: check the PostgreSQL server behind it for its settings, rules and sessions',
            },
            settings: {},
            notes: [],
          }
        : await probe('login', () => probeDatabase(ctx, sslRequest.answer === 'S'));
  }
  return facts;
}

type Probe = <T>(phase: string, task: () => Promise<T>) => Promise<T>;

/** A probe whose connection failed answers `fallback` (with the reason) instead of failing the target. */
async function orElse<T>(task: Promise<T>, fallback: (reason: string) => T): Promise<T> {
  try {
    return await task;
  } catch (error) {
    if (error instanceof ProbeFailure) return fallback(error.message);
    throw error;
  }
}

async function scanTls(
  ctx: ProbeContext,
  route: TlsRoute,
  probe: Probe,
  user: string,
  database: string,
  facts: TargetFacts,
  now: Date | undefined,
  onHandshake: (phase: string) => void,
): Promise<TlsFacts> {
  const scans = await Promise.all(
    TLS_VERSIONS.map((version) =>
      probe(`${version} cipher scan`, () =>
        scanVersion(ctx, route, version, () => onHandshake(`${version} cipher scan`)),
      ),
    ),
  );
  const versions = Object.fromEntries(TLS_VERSIONS.map((v, i) => [v, scans[i]])) as Record<
    TlsVersion,
    VersionScan
  >;
  const best = bestVersion(versions);
  const tls: TlsFacts = {
    via: route,
    versions,
    groups: [],
    renegotiation: { answer: 'unknown', detail: 'no TLS version accepted' },
    resumption: { answer: 'unknown', detail: 'no TLS version accepted' },
    clientCertificate: { caNames: [] },
  };
  if (!best) return tls;
  const groupVersion: TlsVersion = versions['TLSv1.3'].accepted ? 'TLSv1.3' : 'TLSv1.2';
  const legacy = TLS_VERSIONS.some((v) => v !== 'TLSv1.3' && versions[v].accepted);
  const [groups, renegotiation, resumption, certificate, overTls] = await Promise.all([
    Promise.all(
      KEY_EXCHANGE_GROUPS.map((group) =>
        probe('key exchange', () => probeGroup(ctx, route, group, groupVersion)),
      ),
    ),
    legacy
      ? orElse(
          probe('renegotiation', () => probeRenegotiation(ctx, route)),
          (detail) => ({
            answer: 'unknown' as const,
            detail,
          }),
        )
      : Promise.resolve({ answer: 'refused' as const, detail: 'TLS 1.3 only: no renegotiation' }),
    orElse(
      probe('resumption', () => probeResumption(ctx, route, best, user)),
      (detail) => ({
        answer: 'unknown' as const,
        detail,
      }),
    ),
    orElse(
      probe('certificate', () => probeCertificate(ctx, route, best, now)),
      (detail) => ({
        clientCertificate: { caNames: [], detail },
      }),
    ),
    probe('startup over TLS', () => probeTlsStartup(ctx, route, best, user, database)),
  ]);
  tls.groups = groups;
  tls.renegotiation = renegotiation;
  tls.resumption = resumption;
  if (certificate.certificate) tls.certificate = certificate.certificate;
  tls.clientCertificate = certificate.clientCertificate;
  facts.authentication.overTls = overTls;
  return tls;
}
