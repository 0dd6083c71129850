// SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL speaks it: secrets in pg_authid's format,
// the server side of an exchange (checks and texts of auth-scram.c) and the client side that
// proves knowledge of a ClientKey. Pure: strings and bytes in, strings and bytes out.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { SqlState, type SqlStateCode } from '../protocol/codes.js';

export const SCRAM_SHA_256 = 'SCRAM-SHA-256';
export const SCRAM_SHA_256_PLUS = 'SCRAM-SHA-256-PLUS';
/** The only channel-binding type PostgreSQL implements (RFC 5929). */
export const TLS_SERVER_END_POINT = 'tls-server-end-point';
/** PostgreSQL's SCRAM_RAW_NONCE_LEN: random bytes in each side's nonce, before base64. */
export const SCRAM_RAW_NONCE_LENGTH = 18;
const KEY_LENGTH = 32;
/** PostgreSQL's SCRAM_SHA_256_DEFAULT_ITERATIONS, used for mock secrets. */
const DEFAULT_ITERATIONS = 4096;

/** What pg_authid.rolpassword holds for a SCRAM password. */
export interface ScramSecret {
  iterations: number;
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

/** A failed exchange, worded as PostgreSQL's ereport() in auth-scram.c. */
export class ScramError extends Error {
  constructor(
    readonly sqlstate: SqlStateCode,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'ScramError';
  }
}

function malformed(detail: string): ScramError {
  return new ScramError(SqlState.PROTOCOL_VIOLATION, 'malformed SCRAM message', detail);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeBase64(text: string): Buffer | undefined {
  return BASE64.test(text) ? Buffer.from(text, 'base64') : undefined;
}

export function hmac(key: Buffer, data: string | Buffer): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

export function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] ?? 0) ^ (b[i] ?? 0);
  return out;
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Parses `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (base64 fields), as
 * parse_scram_secret() does; undefined for anything else (an MD5 hash, a plain password).
 */
export function parseScramSecret(text: string): ScramSecret | undefined {
  const match = /^SCRAM-SHA-256\$(\d+):([^$:]+)\$([^$:]+):([^$:]+)$/.exec(text);
  if (!match) return undefined;
  const iterations = Number(match[1]);
  const salt = decodeBase64(match[2] ?? '');
  const storedKey = decodeBase64(match[3] ?? '');
  const serverKey = decodeBase64(match[4] ?? '');
  if (!Number.isSafeInteger(iterations) || iterations < 1 || !salt || salt.length === 0) {
    return undefined;
  }
  if (storedKey?.length !== KEY_LENGTH || serverKey?.length !== KEY_LENGTH) return undefined;
  return { iterations, salt, storedKey, serverKey };
}

export function formatScramSecret(secret: ScramSecret): string {
  return `SCRAM-SHA-256$${secret.iterations}:${secret.salt.toString('base64')}$${secret.storedKey.toString('base64')}:${secret.serverKey.toString('base64')}`;
}

/** ClientKey, StoredKey and ServerKey from SaltedPassword = Hi(password, salt, i). */
export function scramKeys(saltedPassword: Buffer): {
  clientKey: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
} {
  const clientKey = hmac(saltedPassword, 'Client Key');
  return { clientKey, storedKey: sha256(clientKey), serverKey: hmac(saltedPassword, 'Server Key') };
}

/**
 * PostgreSQL's scram_mock_salt() idea: for a user with no usable secret the exchange goes on
 * with a salt that is stable per user (so a prober cannot tell the user is missing) and keys
 * no proof can match.
 */
export function mockScramSecret(user: string, mockNonce: Buffer): ScramSecret {
  const salt = createHash('sha256').update(user).update(mockNonce).digest().subarray(0, 16);
  const unmatchable = Buffer.alloc(KEY_LENGTH);
  return { iterations: DEFAULT_ITERATIONS, salt, storedKey: unmatchable, serverKey: unmatchable };
}

/**
 * Approximates SASLprep (RFC 4013), which PostgreSQL applies to passwords before hashing:
 * non-ASCII spaces become spaces, soft hyphens and zero-width characters go, then NFKC.
 * ASCII passwords, the common case, are unchanged, as in pg_saslprep().
 */
export function saslPrep(password: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII range test
  if (/^[\x00-\x7f]*$/.test(password)) return password;
  let mapped = '';
  for (const char of password) {
    const code = char.codePointAt(0) ?? 0;
    if (NON_ASCII_SPACES.has(code) || (code >= 0x2000 && code <= 0x200b)) mapped += ' ';
    else if (!MAPPED_TO_NOTHING.has(code) && !(code >= 0xfe00 && code <= 0xfe0f)) mapped += char;
  }
  return mapped.normalize('NFKC');
}

/** RFC 3454 table C.1.2 (besides U+2000..U+200B). */
const NON_ASCII_SPACES = new Set([0xa0, 0x1680, 0x202f, 0x205f, 0x3000]);
/** RFC 3454 table B.1 (besides the variation selectors U+FE00..U+FE0F). */
const MAPPED_TO_NOTHING = new Set([
  0xad, 0x34f, 0x1806, 0x180b, 0x180c, 0x180d, 0x200c, 0x200d, 0x2060, 0xfeff,
]);

/** printable = %x21-2B / %x2D-7E (RFC 5802): what a nonce may contain. */
function isPrintable(text: string): boolean {
  return /^[\x21-\x2b\x2d-\x7e]+$/.test(text);
}

/** Splits `a=x,b=y` into attributes; checks the ALPHA "=" value shape. */
function attributes(text: string): Array<[string, string]> {
  if (text === '') return [];
  return text.split(',').map((part) => {
    const name = part[0] ?? '';
    if (!/^[A-Za-z]$/.test(name)) {
      throw malformed(`Attribute expected, but found invalid character "${name}".`);
    }
    if (part[1] !== '=') throw malformed(`Expected character "=" for attribute "${name}".`);
    return [name, part.slice(2)];
  });
}

function expectAttribute(list: Array<[string, string]>, index: number, name: string): string {
  const entry = list[index];
  if (!entry) throw malformed(`Expected attribute "${name}" but found end of string.`);
  if (entry[0] !== name) {
    throw malformed(`Expected attribute "${name}" but found "${entry[0]}".`);
  }
  return entry[1];
}

/** The client-first-message as the server reads it. */
export interface ClientFirstMessage {
  /** `n` (no channel binding), `y` (supported, but the client thinks we don't), `p` (bound). */
  cbindFlag: 'n' | 'y' | 'p';
  /** The gs2 header (`p=tls-server-end-point,,`, `n,,`, `y,,`), the prefix of cbind-input. */
  gs2Header: string;
  /** client-first-message-bare, part of AuthMessage. */
  bare: string;
  nonce: string;
}

/**
 * read_client_first_message(): `selectedPlus` is whether the client chose SCRAM-SHA-256-PLUS,
 * `bindingOffered` whether this server offered it. Throws ScramError with PostgreSQL's text.
 */
export function parseClientFirstMessage(
  text: string,
  selectedPlus: boolean,
  bindingOffered: boolean,
): ClientFirstMessage {
  const flag = text[0];
  let rest: string;
  let cbindFlag: ClientFirstMessage['cbindFlag'];
  if (flag === 'n' || flag === 'y') {
    if (selectedPlus) {
      throw malformed(
        'The client selected SCRAM-SHA-256-PLUS, but the SCRAM message does not include channel binding data.',
      );
    }
    if (flag === 'y' && bindingOffered) {
      throw new ScramError(
        SqlState.PROTOCOL_VIOLATION,
        'SCRAM channel binding negotiation error',
        'The client supports SCRAM channel binding but thinks the server does not.  However, this server does support channel binding.',
      );
    }
    if (text[1] !== ',') throw malformed(`Comma expected, but found character "${text[1]}".`);
    cbindFlag = flag;
    rest = text.slice(2);
  } else if (flag === 'p') {
    if (!selectedPlus) {
      throw malformed(
        'The client selected SCRAM-SHA-256 without channel binding, but the SCRAM message includes channel binding data.',
      );
    }
    const comma = text.indexOf(',');
    const name = comma === -1 ? '' : text.slice(0, comma);
    if (!name.startsWith('p=')) throw malformed('Expected character "=" for attribute "p".');
    if (name.slice(2) !== TLS_SERVER_END_POINT) {
      throw new ScramError(
        SqlState.PROTOCOL_VIOLATION,
        `unsupported SCRAM channel-binding type "${name.slice(2)}"`,
      );
    }
    cbindFlag = 'p';
    rest = text.slice(comma + 1);
  } else {
    throw malformed(`Unexpected channel-binding flag "${flag ?? ''}".`);
  }
  if (rest.startsWith('a=')) {
    throw new ScramError(
      SqlState.FEATURE_NOT_SUPPORTED,
      'client uses authorization identity, but it is not supported',
    );
  }
  if (rest[0] !== ',') {
    throw malformed(`Unexpected attribute "${rest[0] ?? ''}" in client-first-message.`);
  }
  const bare = rest.slice(1);
  const gs2Header = text.slice(0, text.length - bare.length);
  if (bare.startsWith('m=')) {
    throw new ScramError(
      SqlState.FEATURE_NOT_SUPPORTED,
      'client requires an unsupported SCRAM extension',
    );
  }
  const list = attributes(bare);
  expectAttribute(list, 0, 'n'); // the user name in SCRAM is ignored: the startup packet's counts
  const nonce = expectAttribute(list, 1, 'r');
  if (!isPrintable(nonce)) {
    throw new ScramError(SqlState.PROTOCOL_VIOLATION, 'non-printable characters in SCRAM nonce');
  }
  return { cbindFlag, gs2Header, bare, nonce };
}

/** server-first-message: the combined nonce, the secret's salt and iteration count. */
export function serverFirstMessage(combinedNonce: string, secret: ScramSecret): string {
  return `r=${combinedNonce},s=${secret.salt.toString('base64')},i=${secret.iterations}`;
}

/** The client-final-message as the server reads it. */
export interface ClientFinalMessage {
  /** The `c=` value (base64 of cbind-input). */
  channelBinding: string;
  nonce: string;
  proof: Buffer;
  /** client-final-message-without-proof, part of AuthMessage. */
  withoutProof: string;
}

/** read_client_final_message(): syntax only; the checks are in verifyClientFinal. */
export function parseClientFinalMessage(text: string): ClientFinalMessage {
  const proofAt = text.lastIndexOf(',p=');
  if (proofAt === -1) throw malformed('Malformed proof in client-final-message.');
  const withoutProof = text.slice(0, proofAt);
  const list = attributes(withoutProof);
  const channelBinding = expectAttribute(list, 0, 'c');
  const nonce = expectAttribute(list, 1, 'r');
  const proof = decodeBase64(text.slice(proofAt + 3));
  if (proof?.length !== KEY_LENGTH) {
    throw malformed('Malformed proof in client-final-message.');
  }
  return { channelBinding, nonce, proof, withoutProof };
}

/** The state a SCRAM server keeps between its two messages. */
export interface ScramServerState {
  secret: ScramSecret;
  clientFirst: ClientFirstMessage;
  serverFirst: string;
  combinedNonce: string;
  /**
   * tls-server-end-point data of the certificate this client sees (when it chose -PLUS).
   */
  bindingData: Buffer | undefined;
}

/** A verified client: its ClientKey and the server-final-message to send it. */
export interface VerifiedClient {
  clientKey: Buffer;
  serverFinal: string;
}

/**
 * Checks channel binding and nonce (ScramError), then the proof: undefined when the proof does
 * not match the secret (the caller reports PostgreSQL's "password authentication failed").
 * The ClientKey is recovered as ClientProof XOR HMAC(StoredKey, AuthMessage) and must hash to
 * StoredKey.
 */
export function verifyClientFinal(
  state: ScramServerState,
  message: ClientFinalMessage,
): VerifiedClient | undefined {
  if (state.clientFirst.cbindFlag === 'p') {
    const expected = Buffer.concat([
      Buffer.from(state.clientFirst.gs2Header),
      state.bindingData ?? Buffer.alloc(0),
    ]).toString('base64');
    if (message.channelBinding !== expected) {
      throw new ScramError(
        SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
        'SCRAM channel binding check failed',
      );
    }
  } else if (message.channelBinding !== 'biws' && message.channelBinding !== 'eSws') {
    // base64 of "n,," and "y,,": the only inputs without binding data
    throw new ScramError(
      SqlState.PROTOCOL_VIOLATION,
      'unexpected SCRAM channel-binding attribute in client-final-message',
    );
  }
  if (message.nonce !== state.combinedNonce) throw malformed('Nonce does not match.');
  const authMessage = `${state.clientFirst.bare},${state.serverFirst},${message.withoutProof}`;
  const clientKey = xor(message.proof, hmac(state.secret.storedKey, authMessage));
  if (!sameBytes(sha256(clientKey), state.secret.storedKey)) return undefined;
  const signature = hmac(state.secret.serverKey, authMessage).toString('base64');
  return { clientKey, serverFinal: `v=${signature}` };
}

/** The client side: proves knowledge of a ClientKey and checks the server's signature. */
export class ScramClient {
  readonly firstMessageBare: string;
  readonly firstMessage: string;
  private readonly nonce: string;
  private serverFirst: string | undefined;
  private combinedNonce = '';
  private authMessage = '';

  /**
   * @param gs2Header `p=tls-server-end-point,,` with `bindingData`, else `n,,` or `y,,`.
   * @param nonce printable characters, fresh for each exchange.
   * @param user the SCRAM user name; PostgreSQL ignores it (the startup packet's counts) and
   *   libpq sends it empty. Must not contain `,` or `=`.
   */
  constructor(
    private readonly gs2Header: string,
    private readonly bindingData: Buffer | undefined,
    nonce: string,
    user = '',
  ) {
    this.firstMessageBare = `n=${user},r=${nonce}`;
    this.firstMessage = gs2Header + this.firstMessageBare;
    this.nonce = nonce;
  }

  /** Reads server-first-message; returns the salt and iteration count the server uses. */
  receiveServerFirst(text: string): { salt: Buffer; iterations: number } {
    const list = attributes(text);
    const nonce = expectAttribute(list, 0, 'r');
    const saltText = expectAttribute(list, 1, 's');
    const iterationText = expectAttribute(list, 2, 'i');
    if (!nonce.startsWith(this.nonce) || nonce.length === this.nonce.length) {
      throw new ScramError(SqlState.PROTOCOL_VIOLATION, 'invalid SCRAM response (nonce mismatch)');
    }
    const salt = decodeBase64(saltText);
    const iterations = /^\d+$/.test(iterationText) ? Number(iterationText) : Number.NaN;
    if (!salt || salt.length === 0) {
      throw new ScramError(SqlState.PROTOCOL_VIOLATION, 'malformed SCRAM message (invalid salt)');
    }
    if (!Number.isSafeInteger(iterations) || iterations < 1) {
      throw new ScramError(
        SqlState.PROTOCOL_VIOLATION,
        'malformed SCRAM message (invalid iteration count)',
      );
    }
    this.serverFirst = text;
    this.combinedNonce = nonce;
    return { salt, iterations };
  }

  /** client-final-message with ClientProof = ClientKey XOR HMAC(H(ClientKey), AuthMessage). */
  finalMessage(clientKey: Buffer): string {
    if (this.serverFirst === undefined) throw new Error('server-first-message not received yet');
    const cbindInput = Buffer.concat([
      Buffer.from(this.gs2Header),
      this.bindingData ?? Buffer.alloc(0),
    ]);
    const withoutProof = `c=${cbindInput.toString('base64')},r=${this.combinedNonce}`;
    this.authMessage = `${this.firstMessageBare},${this.serverFirst},${withoutProof}`;
    const proof = xor(clientKey, hmac(sha256(clientKey), this.authMessage));
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  /** Checks server-final-message's `v=` against HMAC(ServerKey, AuthMessage). */
  verifyServerFinal(text: string, serverKey: Buffer): void {
    const list = attributes(text);
    if (list[0]?.[0] === 'e') {
      throw new ScramError(
        SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
        `error received from server in SCRAM exchange: ${list[0][1]}`,
      );
    }
    const signature = decodeBase64(expectAttribute(list, 0, 'v'));
    const expected = hmac(serverKey, this.authMessage);
    if (!signature || !sameBytes(signature, expected)) {
      throw new ScramError(
        SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
        'incorrect server signature',
      );
    }
  }
}
