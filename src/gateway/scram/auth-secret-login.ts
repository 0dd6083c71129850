// Logs the gateway's auth_user in to the upstream server for the secret lookup, answering
// whatever the server asks: nothing (trust, or a client certificate from the upstream
// conninfo's sslcert/sslkey), a cleartext or MD5 password, or SCRAM-SHA-256 with channel
// binding. Ends at ReadyForQuery.
import { pbkdf2 } from 'node:crypto';
import { promisify } from 'node:util';
import { saslPrep, scramKeys } from '../../auth/scram.js';
import {
  authenticationRequest,
  encodePasswordMessage,
  md5PasswordResponse,
} from '../../protocol/auth-messages.js';
import { AuthRequest, BackendMessage } from '../../protocol/codes.js';
import { saslMechanisms } from '../../protocol/sasl.js';
import { ServerRefusedError, scramWithServer, type UpstreamLeg } from './scram-upstream.js';

const pbkdf2Async = promisify(pbkdf2);

/** Why auth_user could not log in; the message is for the gateway's log. */
export class LoginError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LoginError';
  }
}

export interface LoginCredentials {
  user: string;
  /** From the upstream conninfo's password= (or PGPASSWORD) or the password file. */
  password: string | undefined;
}

function needPassword(credentials: LoginCredentials): string {
  if (credentials.password === undefined) {
    throw new LoginError(
      `the server asked for a password for auth_user "${credentials.user}", but none was supplied (set password= in upstream or use a password file)`,
    );
  }
  return credentials.password;
}

/** Answers the server's authentication requests until ReadyForQuery. */
export async function loginAs(leg: UpstreamLeg, credentials: LoginCredentials): Promise<void> {
  for (;;) {
    const message = await leg.messages.next();
    if (message.type === BackendMessage.ErrorResponse) throw new ServerRefusedError(message);
    if (message.type === BackendMessage.ReadyForQuery) return;
    const request = authenticationRequest(message);
    if (!request) continue; // ParameterStatus, BackendKeyData, NoticeResponse
    switch (request.code) {
      case AuthRequest.Ok:
        break;
      case AuthRequest.CleartextPassword:
        leg.socket.write(encodePasswordMessage(needPassword(credentials)));
        break;
      case AuthRequest.MD5Password: {
        const response = md5PasswordResponse(
          credentials.user,
          needPassword(credentials),
          request.data.subarray(0, 4),
        );
        leg.socket.write(encodePasswordMessage(response));
        break;
      }
      case AuthRequest.SASL: {
        const password = saslPrep(needPassword(credentials));
        await scramWithServer(leg, saslMechanisms(message) ?? [], async (salt, iterations) => {
          const salted = await pbkdf2Async(password, salt, iterations, 32, 'sha256');
          const { clientKey, serverKey } = scramKeys(salted);
          return { clientKey, serverKey };
        });
        break;
      }
      default:
        throw new LoginError(
          `the server asked auth_user "${credentials.user}" for an authentication method the gateway does not support (request code ${request.code})`,
        );
    }
  }
}
