// SCRAM-SHA-256 through a gateway that is TLS on both legs, as PgBouncer does with auth_query:
// the gateway is the SCRAM server towards the client (with the user's secret, binding to its
// own certificate), recovers the ClientKey from the verified proof, and uses it to complete
// SCRAM with the server as a client (binding to the server's certificate). Pass-through cannot
// work there: the client's proof covers its gs2 header, which PostgreSQL rejects over TLS.
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { tlsServerEndPoint } from '../../auth/channel-binding.js';
import type { MessageStream } from '../../auth/message-stream.js';
import {
  mockScramSecret,
  parseClientFinalMessage,
  parseClientFirstMessage,
  SCRAM_RAW_NONCE_LENGTH,
  SCRAM_SHA_256,
  SCRAM_SHA_256_PLUS,
  ScramError,
  type ScramSecret,
  serverFirstMessage,
  verifyClientFinal,
} from '../../auth/scram.js';
import type { Settings } from '../../config/settings.js';
import { describeError } from '../../errors.js';
import type { UpstreamTarget } from '../../libpq/upstream-session.js';
import type { Logger } from '../../log.js';
import {
  decodeSaslInitialResponse,
  encodeSaslChallenge,
  PASSWORD_MESSAGE,
} from '../../protocol/auth-messages.js';
import { fatal } from '../../protocol/backend-error.js';
import { AuthRequest, SqlState } from '../../protocol/codes.js';
import { encodeAuthenticationSasl } from '../../protocol/sasl.js';
import { type ScramSecretSource, type SecretLookup, secretSourceFor } from './auth-secrets.js';
import { ServerRefusedError, scramWithServer, type UpstreamLeg } from './scram-upstream.js';

/** What the proxy needs for one connection whose client and server legs are both TLS. */
export interface ScramProxySetup {
  user: string;
  /** The certificate this client was served (DER): SCRAM-SHA-256-PLUS binds to it. */
  gatewayCertificate: Buffer | undefined;
  /** The upstream server's certificate (DER). */
  serverCertificate: Buffer | undefined;
  /** Undefined when auth_user is not set: SCRAM is then refused with an explanation. */
  secrets: ScramSecretSource | undefined;
  log: Logger;
}

/** The client's side of the connection during the exchange. */
export interface ClientLeg {
  socket: Duplex;
  messages: MessageStream;
}

export type ScramProxyOutcome = { ok: true } | { ok: false; reason: string };

/** Builds the setup from a connection's generation and its two TLS sockets. */
export function scramProxySetup(options: {
  generation: { readonly settings: Settings; readonly upstreams: readonly UpstreamTarget[] };
  client: TLSSocket;
  upstream: TLSSocket;
  user: string;
  /** The connection's logger. */
  log: Logger;
  /** A logger not tied to one connection, for the generation's shared secret source. */
  sharedLog: Logger;
}): ScramProxySetup {
  return {
    user: options.user,
    gatewayCertificate: options.client.getX509Certificate()?.raw,
    serverCertificate: options.upstream.getPeerCertificate(false)?.raw ?? undefined,
    secrets: secretSourceFor(options.generation, options.sharedLog),
    log: options.log,
  };
}

/** Whether an AuthenticationSASL offer is SCRAM (the only SASL family the proxy handles). */
export function isScramOffer(mechanisms: readonly string[]): boolean {
  return mechanisms.includes(SCRAM_SHA_256) || mechanisms.includes(SCRAM_SHA_256_PLUS);
}

/** The secret changed between lookup and login: the server now uses another salt. */
class SecretChangedError extends Error {}

/** The client was refused before the server's side finished; that side is dropped. */
class AbandonedError extends Error {}

/** The exchange with the server failed; `cause` says how. */
class UpstreamFailedError extends Error {
  constructor(override readonly cause: unknown) {
    super('SCRAM with the upstream server failed');
  }
}

/** A reply already sent to the client; ends the exchange. */
class Refused extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

function refuse(client: ClientLeg, reply: Buffer, reason: string): never {
  client.socket.write(reply);
  throw new Refused(reason);
}

function authenticationFailed(client: ClientLeg, user: string, reason: string): never {
  refuse(
    client,
    fatal(SqlState.INVALID_PASSWORD, `password authentication failed for user "${user}"`),
    reason,
  );
}

/** The next SASL message's body; refuses anything else as PostgreSQL does. */
async function nextSaslMessage(client: ClientLeg): Promise<Buffer> {
  const message = await client.messages.next();
  if (message.type !== PASSWORD_MESSAGE) {
    refuse(
      client,
      fatal(
        SqlState.PROTOCOL_VIOLATION,
        `expected SASL response, got message type ${message.type}`,
      ),
      'the client sent something other than a SASL response',
    );
  }
  return message.body;
}

/**
 * Runs SCRAM with the client and, once the client is verified, with the server. On success the
 * client has received AuthenticationSASLFinal and the server's next message (AuthenticationOk)
 * is still unread; on failure the client has been told why (or has gone away).
 */
export async function proxyScram(
  setup: ScramProxySetup,
  offer: readonly string[],
  client: ClientLeg,
  server: UpstreamLeg,
  signal: AbortSignal,
): Promise<ScramProxyOutcome> {
  try {
    await exchange(setup, offer, client, server, signal);
    return { ok: true };
  } catch (error) {
    if (error instanceof Refused) return { ok: false, reason: error.reason };
    if (error instanceof ScramError) {
      // a malformed client message: PostgreSQL's own wording
      client.socket.write(
        fatal(error.sqlstate, error.message, error.detail ? { detail: error.detail } : {}),
      );
      return { ok: false, reason: `SCRAM exchange with the client failed: ${error.message}` };
    }
    throw error;
  }
}

async function exchange(
  setup: ScramProxySetup,
  offer: readonly string[],
  client: ClientLeg,
  server: UpstreamLeg,
  signal: AbortSignal,
): Promise<void> {
  const { user, secrets, log } = setup;
  if (!secrets) {
    log.warn(
      { user },
      'SCRAM through a TLS upstream connection needs auth_user; the client was refused',
    );
    refuse(
      client,
      fatal(
        SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
        'the gateway cannot pass SCRAM authentication through to a server it reaches over TLS',
        {
          detail:
            'SCRAM channel binding ties the authentication to one TLS connection, and the gateway holds two.',
          hint: 'Set auth_user (and, if needed, auth_query) on the gateway so that it verifies SCRAM itself, or connect the gateway to the server through a unix socket or over a trusted network without TLS.',
        },
      ),
      'SCRAM through a TLS upstream leg without auth_user',
    );
  }

  const bindingData = setup.gatewayCertificate
    ? tlsServerEndPoint(setup.gatewayCertificate)
    : undefined;
  const mechanisms = bindingData ? [SCRAM_SHA_256_PLUS, SCRAM_SHA_256] : [SCRAM_SHA_256];
  client.socket.write(encodeAuthenticationSasl(mechanisms));
  // The lookup runs while the client computes its first message.
  const lookup = secrets.lookup(user, signal);
  lookup.catch(() => {}); // awaited below; keeps an early refusal from leaving it unhandled

  let initial: ReturnType<typeof decodeSaslInitialResponse>;
  try {
    initial = decodeSaslInitialResponse(await nextSaslMessage(client));
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    refuse(
      client,
      fatal(SqlState.PROTOCOL_VIOLATION, 'malformed SASLInitialResponse'),
      'malformed SASLInitialResponse',
    );
  }
  if (!mechanisms.includes(initial.mechanism)) {
    refuse(
      client,
      fatal(
        SqlState.PROTOCOL_VIOLATION,
        'client selected an invalid SASL authentication mechanism',
      ),
      `the client selected ${initial.mechanism}`,
    );
  }
  const clientFirst = parseClientFirstMessage(
    initial.data ?? '',
    initial.mechanism === SCRAM_SHA_256_PLUS,
    bindingData !== undefined,
  );

  // The server's side starts now: its first message names the salt it holds today, so a
  // cached secret that a password change made stale is looked up again before the client is
  // answered, and the new password works on the first try. The server stays the judge.
  let serverSalt: (value: { salt: Buffer; iterations: number }) => void = () => {};
  const saltKnown = new Promise<{ salt: Buffer; iterations: number }>((resolve) => {
    serverSalt = resolve;
  });
  let provideKeys: (keys: { secret: ScramSecret; clientKey: Buffer } | undefined) => void =
    () => {};
  const keysReady = new Promise<{ secret: ScramSecret; clientKey: Buffer } | undefined>(
    (resolve) => {
      provideKeys = resolve;
    },
  );
  const upstream = scramWithServer(server, offer, async (salt, iterations) => {
    serverSalt({ salt, iterations });
    const keys = await keysReady;
    if (!keys) throw new AbandonedError();
    if (!salt.equals(keys.secret.salt) || iterations !== keys.secret.iterations) {
      throw new SecretChangedError();
    }
    return { clientKey: keys.clientKey, serverKey: keys.secret.serverKey };
  }).catch((error: unknown) => {
    throw new UpstreamFailedError(error);
  });
  upstream.catch(() => {}); // awaited below; a refusal of the client abandons it

  try {
    let found = await secretOf(setup, lookup, client, signal);
    if (found.found && found.cached) {
      const current = await Promise.race([saltKnown, upstream.then(() => undefined)]);
      if (
        current &&
        (!current.salt.equals(found.secret.salt) || current.iterations !== found.secret.iterations)
      ) {
        log.info(
          { user },
          "the user's SCRAM secret changed on the server since it was cached; looking it up again",
        );
        secrets.forget(user);
        found = await secretOf(setup, secrets.lookup(user, signal), client, signal);
      }
    }
    // Like PostgreSQL, go through the motions for a user without a secret, then fail, so that
    // a client cannot tell missing users from wrong passwords.
    const secret: ScramSecret = found.found ? found.secret : mockScramSecret(user, randomBytes(16));
    const combinedNonce =
      clientFirst.nonce + randomBytes(SCRAM_RAW_NONCE_LENGTH).toString('base64');
    const serverFirst = serverFirstMessage(combinedNonce, secret);
    client.socket.write(encodeSaslChallenge(AuthRequest.SASLContinue, serverFirst));

    const clientFinal = parseClientFinalMessage((await nextSaslMessage(client)).toString('utf8'));
    const verified = verifyClientFinal(
      { secret, clientFirst, serverFirst, combinedNonce, bindingData },
      clientFinal,
    );
    if (!found.found) {
      log.info({ user, detail: found.reason }, 'password authentication failed');
      authenticationFailed(client, user, found.reason);
    }
    if (!verified) {
      secrets.forget(user); // the password may have changed since the secret was cached
      log.info({ user, cached: found.cached }, 'password authentication failed');
      authenticationFailed(client, user, 'the client proof did not match the secret');
    }
    provideKeys({ secret, clientKey: verified.clientKey });
    await upstream;
    client.socket.write(encodeSaslChallenge(AuthRequest.SASLFinal, verified.serverFinal));
  } catch (caught) {
    provideKeys(undefined);
    if (!(caught instanceof UpstreamFailedError)) throw caught;
    const error = caught.cause;
    secrets.forget(user);
    if (error instanceof ServerRefusedError) {
      // the server is the final judge: its own error goes to the client
      client.socket.write(error.response.raw);
      throw new Refused('the server refused the connection');
    }
    if (error instanceof SecretChangedError) {
      log.info({ user }, "the user's SCRAM secret changed on the server since it was looked up");
      authenticationFailed(client, user, 'the SCRAM secret changed on the server');
    }
    if (error instanceof ScramError) {
      log.error(
        { user, err: error.message },
        'SCRAM authentication with the upstream server failed',
      );
      refuse(
        client,
        fatal(SqlState.CONNECTION_FAILURE, 'SCRAM authentication with the upstream server failed', {
          hint: "The gateway's log has the reason.",
        }),
        `upstream SCRAM failed: ${error.message}`,
      );
    }
    throw error;
  }
}

/** The secret `lookup` finds, or a refusal sent to the client when the lookup failed. */
async function secretOf(
  setup: ScramProxySetup,
  lookup: Promise<SecretLookup>,
  client: ClientLeg,
  signal: AbortSignal,
): Promise<SecretLookup> {
  try {
    return await lookup;
  } catch (error) {
    if (signal.aborted) throw error;
    setup.log.error(
      { user: setup.user, err: describeError(error) },
      'could not look up the SCRAM secret with auth_query',
    );
    refuse(
      client,
      fatal(
        SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
        `could not look up the SCRAM secret of user "${setup.user}"`,
        {
          hint: "The gateway's log has the reason; check auth_user, auth_query, auth_dbname and auth_user's access to the server.",
        },
      ),
      'the secret lookup failed',
    );
  }
}
