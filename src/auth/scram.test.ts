// SCRAM-SHA-256 against the RFC 7677 test vector (both sides), secrets written by PostgreSQL 15
// (format and SASLprep), and PostgreSQL's refusals for malformed or mismatched messages.
import assert from 'node:assert/strict';
import { pbkdf2Sync } from 'node:crypto';
import { describe, it } from 'node:test';
import { SqlState } from '../protocol/codes.js';
import {
  formatScramSecret,
  mockScramSecret,
  parseClientFinalMessage,
  parseClientFirstMessage,
  parseScramSecret,
  ScramClient,
  ScramError,
  type ScramSecret,
  type ScramServerState,
  saslPrep,
  scramKeys,
  serverFirstMessage,
  verifyClientFinal,
} from './scram.js';

// RFC 7677 section 3: user "user", password "pencil".
const RFC = {
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  clientNonce: 'rOprNGfwEbeRWgbNEkqO',
  combinedNonce: 'rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  serverFirst:
    'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal:
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

function secretFor(password: string, salt: Buffer, iterations: number): ScramSecret {
  const salted = pbkdf2Sync(saslPrep(password), salt, iterations, 32, 'sha256');
  const { storedKey, serverKey } = scramKeys(salted);
  return { iterations, salt, storedKey, serverKey };
}

const rfcSalt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
const rfcSecret = secretFor('pencil', rfcSalt, 4096);
const rfcClientKey = scramKeys(pbkdf2Sync('pencil', rfcSalt, 4096, 32, 'sha256')).clientKey;

function rfcState(secret: ScramSecret = rfcSecret): ScramServerState {
  return {
    secret,
    clientFirst: parseClientFirstMessage(RFC.clientFirst, false, false),
    serverFirst: serverFirstMessage(RFC.combinedNonce, secret),
    combinedNonce: RFC.combinedNonce,
    bindingData: undefined,
  };
}

function scramError(
  fn: () => unknown,
  sqlstate: string,
  message: string | RegExp,
  detail?: string,
): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ScramError, `expected ScramError, got ${String(error)}`);
    assert.equal(error.sqlstate, sqlstate);
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    if (detail !== undefined) assert.equal(error.detail, detail);
    return true;
  });
}

describe('SCRAM server side (RFC 7677 vector)', () => {
  it('builds the RFC server-first-message from the secret', () => {
    assert.equal(serverFirstMessage(RFC.combinedNonce, rfcSecret), RFC.serverFirst);
  });

  it('verifies the RFC proof, recovers ClientKey and signs as the RFC server does', () => {
    const verified = verifyClientFinal(rfcState(), parseClientFinalMessage(RFC.clientFinal));
    assert.ok(verified);
    assert.deepEqual(verified.clientKey, rfcClientKey);
    assert.equal(verified.serverFinal, RFC.serverFinal);
  });

  it('returns undefined for a proof made with another password', () => {
    const other = secretFor('pencil2', rfcSalt, 4096);
    assert.equal(
      verifyClientFinal(rfcState(other), parseClientFinalMessage(RFC.clientFinal)),
      undefined,
    );
  });

  it('never verifies against a mock secret', () => {
    const mock = mockScramSecret('user', Buffer.from('gateway nonce'));
    assert.equal(mock.iterations, 4096);
    assert.deepEqual(mock.salt, mockScramSecret('user', Buffer.from('gateway nonce')).salt);
    assert.notDeepEqual(mock.salt, mockScramSecret('other', Buffer.from('gateway nonce')).salt);
    assert.equal(
      verifyClientFinal(rfcState(mock), parseClientFinalMessage(RFC.clientFinal)),
      undefined,
    );
  });

  it('checks the nonce and the channel-binding attribute', () => {
    const state = rfcState();
    const wrongNonce = RFC.clientFinal.replace('hNlF$k0', 'hNlF$k1');
    scramError(
      () => verifyClientFinal(state, parseClientFinalMessage(wrongNonce)),
      SqlState.PROTOCOL_VIOLATION,
      'malformed SCRAM message',
      'Nonce does not match.',
    );
    const bound = RFC.clientFinal.replace('c=biws', 'c=cD10bHMtc2VydmVyLWVuZC1wb2ludCws');
    scramError(
      () => verifyClientFinal(state, parseClientFinalMessage(bound)),
      SqlState.PROTOCOL_VIOLATION,
      'unexpected SCRAM channel-binding attribute in client-final-message',
    );
    // "y,," is accepted like "n,," when the client sent y (and we offered no binding)
    const yState = {
      ...state,
      clientFirst: parseClientFirstMessage(`y${RFC.clientFirst.slice(1)}`, false, false),
    };
    const yFinal = RFC.clientFinal.replace('c=biws', 'c=eSws');
    // the proof covers c=, so it no longer matches, but the syntax checks pass
    assert.equal(verifyClientFinal(yState, parseClientFinalMessage(yFinal)), undefined);
  });

  it('binds -PLUS clients to the certificate data and refuses other data', () => {
    const bindingData = Buffer.alloc(32, 7);
    const clientFirst = parseClientFirstMessage('p=tls-server-end-point,,n=,r=abc', true, true);
    assert.equal(clientFirst.gs2Header, 'p=tls-server-end-point,,');
    assert.equal(clientFirst.bare, 'n=,r=abc');
    const combinedNonce = 'abcdef';
    const serverFirst = serverFirstMessage(combinedNonce, rfcSecret);
    const client = new ScramClient('p=tls-server-end-point,,', bindingData, 'abc');
    assert.equal(client.firstMessage, 'p=tls-server-end-point,,n=,r=abc');
    client.receiveServerFirst(serverFirst);
    const final = client.finalMessage(rfcClientKey);
    const state: ScramServerState = {
      secret: rfcSecret,
      clientFirst,
      serverFirst,
      combinedNonce,
      bindingData,
    };
    const verified = verifyClientFinal(state, parseClientFinalMessage(final));
    assert.ok(verified);
    assert.deepEqual(verified.clientKey, rfcClientKey);
    client.verifyServerFinal(verified.serverFinal, rfcSecret.serverKey);

    const otherCertificate = { ...state, bindingData: Buffer.alloc(32, 8) };
    scramError(
      () => verifyClientFinal(otherCertificate, parseClientFinalMessage(final)),
      SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
      'SCRAM channel binding check failed',
    );
  });
});

describe('SCRAM client-first-message checks (PostgreSQL wording)', () => {
  it('refuses y when the server offered channel binding (the downgrade check)', () => {
    scramError(
      () => parseClientFirstMessage('y,,n=,r=abc', false, true),
      SqlState.PROTOCOL_VIOLATION,
      'SCRAM channel binding negotiation error',
      'The client supports SCRAM channel binding but thinks the server does not.  However, this server does support channel binding.',
    );
    assert.equal(parseClientFirstMessage('y,,n=,r=abc', false, false).cbindFlag, 'y');
    assert.equal(parseClientFirstMessage('n,,n=,r=abc', false, true).cbindFlag, 'n');
  });

  it('matches the flag to the mechanism', () => {
    scramError(
      () => parseClientFirstMessage('n,,n=,r=abc', true, true),
      SqlState.PROTOCOL_VIOLATION,
      'malformed SCRAM message',
      'The client selected SCRAM-SHA-256-PLUS, but the SCRAM message does not include channel binding data.',
    );
    scramError(
      () => parseClientFirstMessage('p=tls-server-end-point,,n=,r=abc', false, true),
      SqlState.PROTOCOL_VIOLATION,
      'malformed SCRAM message',
      'The client selected SCRAM-SHA-256 without channel binding, but the SCRAM message includes channel binding data.',
    );
    scramError(
      () => parseClientFirstMessage('p=tls-unique,,n=,r=abc', true, true),
      SqlState.PROTOCOL_VIOLATION,
      'unsupported SCRAM channel-binding type "tls-unique"',
    );
    scramError(
      () => parseClientFirstMessage('x,,n=,r=abc', false, true),
      SqlState.PROTOCOL_VIOLATION,
      'malformed SCRAM message',
      'Unexpected channel-binding flag "x".',
    );
  });

  it('refuses authzid, mandatory extensions and bad nonces', () => {
    scramError(
      () => parseClientFirstMessage('n,a=admin,n=,r=abc', false, false),
      SqlState.FEATURE_NOT_SUPPORTED,
      'client uses authorization identity, but it is not supported',
    );
    scramError(
      () => parseClientFirstMessage('n,,m=ext,n=,r=abc', false, false),
      SqlState.FEATURE_NOT_SUPPORTED,
      'client requires an unsupported SCRAM extension',
    );
    scramError(
      () => parseClientFirstMessage('n,,n=,r=a b', false, false),
      SqlState.PROTOCOL_VIOLATION,
      'non-printable characters in SCRAM nonce',
    );
    scramError(
      () => parseClientFirstMessage('n,,n=', false, false),
      SqlState.PROTOCOL_VIOLATION,
      'malformed SCRAM message',
      'Expected attribute "r" but found end of string.',
    );
    // extensions after the nonce are ignored, as PostgreSQL does
    assert.equal(parseClientFirstMessage('n,,n=x,r=abc,q=1', false, false).nonce, 'abc');
  });

  it('refuses a client-final-message without a well-formed proof', () => {
    scramError(
      () => parseClientFinalMessage('c=biws,r=abc'),
      SqlState.PROTOCOL_VIOLATION,
      'malformed SCRAM message',
      'Malformed proof in client-final-message.',
    );
    scramError(
      () => parseClientFinalMessage('c=biws,r=abc,p=c2hvcnQ='),
      SqlState.PROTOCOL_VIOLATION,
      'malformed SCRAM message',
      'Malformed proof in client-final-message.',
    );
  });
});

describe('SCRAM client side (RFC 7677 vector)', () => {
  it('produces the RFC client-final-message from ClientKey alone', () => {
    const client = new ScramClient('n,,', undefined, RFC.clientNonce, 'user');
    assert.equal(client.firstMessage, RFC.clientFirst);
    const { salt, iterations } = client.receiveServerFirst(RFC.serverFirst);
    assert.deepEqual(salt, rfcSalt);
    assert.equal(iterations, 4096);
    assert.equal(client.finalMessage(rfcClientKey), RFC.clientFinal);
    client.verifyServerFinal(RFC.serverFinal, rfcSecret.serverKey);
  });

  it("refuses a wrong server signature, a server error and a nonce that isn't ours", () => {
    const client = new ScramClient('n,,', undefined, RFC.clientNonce, 'user');
    client.receiveServerFirst(RFC.serverFirst);
    client.finalMessage(rfcClientKey);
    const otherServerKey = secretFor('pencil2', rfcSalt, 4096).serverKey;
    scramError(
      () => client.verifyServerFinal(RFC.serverFinal, otherServerKey),
      SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
      'incorrect server signature',
    );
    scramError(
      () => client.verifyServerFinal('e=invalid-proof', rfcSecret.serverKey),
      SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
      'error received from server in SCRAM exchange: invalid-proof',
    );
    const fresh = new ScramClient('n,,', undefined, 'other-nonce');
    scramError(
      () => fresh.receiveServerFirst(RFC.serverFirst),
      SqlState.PROTOCOL_VIOLATION,
      /nonce mismatch/,
    );
    scramError(
      () => new ScramClient('n,,', undefined, 'r').receiveServerFirst('r=rX,s=!!,i=4096'),
      SqlState.PROTOCOL_VIOLATION,
      /invalid salt/,
    );
  });
});

describe('PostgreSQL SCRAM secrets', () => {
  // Written by PostgreSQL 15: CREATE ROLE … PASSWORD 'pencil' / 'pässwörd ｆｕｌｌ' with
  // password_encryption = scram-sha-256, read from pg_authid.rolpassword.
  const PENCIL =
    'SCRAM-SHA-256$4096:hQUAIFfpCfpzEUXkXlDgoQ==$dJ4RMsMDfoyvK43XGP30w2s+MoH4jv20LtSaFUSIlv4=:wC1NK+ujT1UbgTTPet2sYTS46CfMhWAowbs0BnMBDUI=';
  const UNICODE =
    'SCRAM-SHA-256$4096:62P+rvIOURFkMyhLHdwFTg==$3+dXJBjUNc2l4o6hBTneiBkwn5jwe6QbVmtkXLqW4VQ=:Qp7E48G+9l/2tcySNdcZAmQBjuhvw4LVJDBJ1jYsuRM=';

  it('parses a secret and derives the same keys from the password', () => {
    const secret = parseScramSecret(PENCIL);
    assert.ok(secret);
    assert.equal(secret.iterations, 4096);
    assert.equal(secret.salt.length, 16);
    assert.deepEqual(secretFor('pencil', secret.salt, secret.iterations), secret);
    assert.equal(formatScramSecret(secret), PENCIL);
  });

  it('prepares a non-ASCII password as PostgreSQL does (SASLprep: NFKC)', () => {
    const secret = parseScramSecret(UNICODE);
    assert.ok(secret);
    assert.equal(saslPrep('pässwörd ｆｕｌｌ'), 'pässwörd full');
    assert.deepEqual(secretFor('pässwörd ｆｕｌｌ', secret.salt, secret.iterations), secret);
    assert.equal(saslPrep('a\u00a0b\u00adc'), 'a bc');
  });

  it('rejects what is not a SCRAM secret', () => {
    for (const text of [
      'md5c5f2ca0d7b1a49ae4bfbc0e1b8d19d21',
      'plain password',
      '',
      PENCIL.replace('4096', 'x'),
      PENCIL.replace('SCRAM-SHA-256', 'SCRAM-SHA-1'),
      PENCIL.slice(0, -4), // ServerKey too short
      PENCIL.replace('hQUAIFfpCfpzEUXkXlDgoQ==', ''),
      PENCIL.replace('hQUAIFfpCfpzEUXkXlDgoQ==', 'h*UAIFfpCfpzEUXkXlDgoQ=='),
      `${PENCIL}$extra`,
    ]) {
      assert.equal(parseScramSecret(text), undefined, text);
    }
  });
});
