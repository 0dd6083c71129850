// SCRAM-SHA-256 as a client of the upstream server, given a way to get the ClientKey and
// ServerKey for the server's salt: from a password (auth_user's own login) or from a client's
// proof recovered by the SCRAM proxy. Binds to the server's certificate when it offers -PLUS.
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { tlsServerEndPoint } from '../../auth/channel-binding.js';
import type { MessageStream } from '../../auth/message-stream.js';
import {
  SCRAM_RAW_NONCE_LENGTH,
  SCRAM_SHA_256,
  SCRAM_SHA_256_PLUS,
  ScramClient,
  ScramError,
  TLS_SERVER_END_POINT,
} from '../../auth/scram.js';
import {
  authenticationRequest,
  encodeSaslInitialResponse,
  encodeSaslResponse,
} from '../../protocol/auth-messages.js';
import { AuthRequest, BackendMessage, SqlState } from '../../protocol/codes.js';
import type { Message } from '../../protocol/message-reader.js';

/** The server answered with an ErrorResponse; `response` is it, to forward or describe. */
export class ServerRefusedError extends Error {
  constructor(readonly response: Message) {
    super('the server refused the authentication');
    this.name = 'ServerRefusedError';
  }
}

/** The server's side of the connection, as the exchange needs it. */
export interface UpstreamLeg {
  socket: Duplex;
  messages: MessageStream;
  /** The server's certificate (DER) when the leg is TLS. */
  certificate: Buffer | undefined;
}

/** The keys for the server's salt and iteration count. */
export type ScramKeySource = (
  salt: Buffer,
  iterations: number,
) => Promise<{ clientKey: Buffer; serverKey: Buffer }>;

interface MechanismChoice {
  mechanism: string;
  gs2Header: string;
  bindingData: Buffer | undefined;
}

/**
 * libpq's choice: -PLUS with the server's certificate when offered (and the certificate has a
 * usable hash); on TLS without -PLUS, `y` (we could bind, the server does not); else `n`.
 */
export function chooseMechanism(
  offer: readonly string[],
  certificate: Buffer | undefined,
): MechanismChoice | undefined {
  const bindingData = certificate ? tlsServerEndPoint(certificate) : undefined;
  if (offer.includes(SCRAM_SHA_256_PLUS) && bindingData) {
    return {
      mechanism: SCRAM_SHA_256_PLUS,
      gs2Header: `p=${TLS_SERVER_END_POINT},,`,
      bindingData,
    };
  }
  if (!offer.includes(SCRAM_SHA_256)) return undefined;
  const gs2Header = certificate && !offer.includes(SCRAM_SHA_256_PLUS) ? 'y,,' : 'n,,';
  return { mechanism: SCRAM_SHA_256, gs2Header, bindingData: undefined };
}

async function nextChallenge(leg: UpstreamLeg, expected: number): Promise<string> {
  for (;;) {
    const message = await leg.messages.next();
    if (message.type === BackendMessage.ErrorResponse) throw new ServerRefusedError(message);
    if (message.type === BackendMessage.NoticeResponse) continue;
    const request = authenticationRequest(message);
    if (request?.code !== expected) {
      throw new ScramError(
        SqlState.PROTOCOL_VIOLATION,
        `unexpected message from the server during SCRAM authentication (type ${String.fromCharCode(message.type)})`,
      );
    }
    return request.data.toString('utf8');
  }
}

/**
 * Runs the exchange up to and including a verified AuthenticationSASLFinal; the server's
 * AuthenticationOk and what follows are left for the caller to read. Throws ServerRefusedError
 * when the server answers with an error, ScramError on a protocol or signature problem.
 */
export async function scramWithServer(
  leg: UpstreamLeg,
  offer: readonly string[],
  keys: ScramKeySource,
): Promise<void> {
  const choice = chooseMechanism(offer, leg.certificate);
  if (!choice) {
    throw new ScramError(
      SqlState.FEATURE_NOT_SUPPORTED,
      `none of the server's SASL authentication mechanisms are supported: ${offer.join(', ')}`,
    );
  }
  const nonce = randomBytes(SCRAM_RAW_NONCE_LENGTH).toString('base64');
  const client = new ScramClient(choice.gs2Header, choice.bindingData, nonce);
  leg.socket.write(encodeSaslInitialResponse(choice.mechanism, client.firstMessage));
  const serverFirst = await nextChallenge(leg, AuthRequest.SASLContinue);
  const { salt, iterations } = client.receiveServerFirst(serverFirst);
  const { clientKey, serverKey } = await keys(salt, iterations);
  leg.socket.write(encodeSaslResponse(client.finalMessage(clientKey)));
  const serverFinal = await nextChallenge(leg, AuthRequest.SASLFinal);
  client.verifyServerFinal(serverFinal, serverKey);
}
