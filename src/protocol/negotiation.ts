// The startup phase of a PostgreSQL connection as a state machine without I/O: bytes and
// context in, one action out. It mirrors ProcessSSLStartup() and ProcessStartupPacket() in
// PostgreSQL 18's src/backend/tcop/backend_startup.c (direct TLS and its ALPN check, SSLRequest
// and GSSENCRequest answered at most once each, pipelined plaintext, packet lengths, protocol
// versions), so that every listener of pgtunnel answers a client's first bytes alike.
import { fatal } from './backend-error.js';
import { ALPN_POSTGRESQL, SqlState, TLS_HANDSHAKE_RECORD } from './codes.js';
import {
  decodeStartupPacket,
  type StartupPacket,
  StartupPacketError,
  startupPacketLength,
} from './startup-packet.js';

/** Where the negotiation stands, named as the step it waits in. */
export const StartupStep = {
  /** Nothing read yet: a TLS handshake record here is a direct TLS connection. */
  AwaitingFirstBytes: 'AwaitingFirstBytes',
  /** A length-prefixed packet (SSLRequest, GSSENCRequest, CancelRequest, StartupMessage). */
  AwaitingPacket: 'AwaitingPacket',
  /** 'S' was sent, or direct TLS began: the driver runs the handshake, then calls tlsEstablished. */
  AwaitingTlsHandshake: 'AwaitingTlsHandshake',
  /** A StartupMessage or CancelRequest was read, or the connection was refused. */
  Done: 'Done',
} as const;
export type StartupStepName = (typeof StartupStep)[keyof typeof StartupStep];

/** What the endpoint offers; fixed for one connection. */
export interface NegotiationContext {
  /**
   * TLS can be had here: ssl is on and the client came over TCP. PostgreSQL never offers TLS
   * on a unix socket, and neither does pgtunnel.
   */
  tlsAvailable: boolean;
}

export interface NegotiationState {
  readonly step: StartupStepName;
  /** An SSLRequest was answered (PostgreSQL's ssl_done). */
  readonly sslDone: boolean;
  /** A GSSENCRequest was answered, or TLS was set up after an SSLRequest (gss_done). */
  readonly gssDone: boolean;
  /** The connection is encrypted. */
  readonly inTls: boolean;
  /** TLS began without an SSLRequest (PostgreSQL 17+ `sslnegotiation=direct`). */
  readonly directTls: boolean;
}

/** Why a connection is refused or closed, for logs and the `connections_refused` metric. */
export type NegotiationFailure =
  | 'protocol_violation'
  | 'unsupported_protocol'
  | 'direct_tls_unavailable'
  | 'client_left';

export type NegotiationAction =
  /** Read more bytes and call negotiationStep again with everything buffered. */
  | { kind: 'read-more' }
  /** Write `reply` ('S', 'N'); when `startTls`, run the server side of TLS next. */
  | { kind: 'answer'; reply: Buffer; startTls: boolean; consumed: number }
  /** The buffered bytes open a TLS handshake: hand them, unread, to TLS. */
  | { kind: 'start-direct-tls' }
  /** Write `reply` (ending with a FATAL ErrorResponse), then close. */
  | { kind: 'refuse'; reply: Buffer; reason: NegotiationFailure; message: string }
  /** Close without a word, as PostgreSQL does. */
  | { kind: 'close'; reason: NegotiationFailure; message: string }
  /** A CancelRequest: pass it on, answer nothing, close. */
  | { kind: 'cancel'; processId: number; secretKey: Buffer }
  /** A StartupMessage; `rest` is what the client sent after it. */
  | {
      kind: 'startup';
      startup: Extract<StartupPacket, { kind: 'startup' }>;
      packet: Buffer;
      rest: Buffer;
    };

export interface NegotiationResult {
  action: NegotiationAction;
  state: NegotiationState;
}

export const INITIAL_NEGOTIATION: NegotiationState = {
  step: StartupStep.AwaitingFirstBytes,
  sslDone: false,
  gssDone: false,
  inTls: false,
  directTls: false,
};

const MITM_DETAIL =
  'This could be either a client-software bug or evidence of an attempted man-in-the-middle attack.';

/** The next action, given every byte received and not yet consumed. */
export function negotiationStep(
  state: NegotiationState,
  context: NegotiationContext,
  buffered: Buffer,
): NegotiationResult {
  switch (state.step) {
    case StartupStep.AwaitingFirstBytes:
      return awaitingFirstBytes(state, context, buffered);
    case StartupStep.AwaitingPacket:
      return awaitingPacket(state, context, buffered);
    case StartupStep.AwaitingTlsHandshake:
    case StartupStep.Done:
      throw new Error(`negotiationStep called in step ${state.step}`);
  }
}

/** The handshake that an `answer` with startTls, or `start-direct-tls`, asked for has finished. */
export function tlsEstablished(
  state: NegotiationState,
  handshake: { alpnProtocol: string | false | null | undefined },
): NegotiationResult {
  if (state.directTls && handshake.alpnProtocol !== ALPN_POSTGRESQL) {
    // PostgreSQL logs this and closes; we say it inside the TLS session the client already has.
    return refuse(
      state,
      'protocol_violation',
      SqlState.PROTOCOL_VIOLATION,
      'received direct SSL connection request without ALPN protocol negotiation extension',
    );
  }
  return { action: { kind: 'read-more' }, state: { ...state, step: StartupStep.AwaitingPacket } };
}

/** ProcessSSLStartup(): only the very first byte can start a direct TLS handshake. */
function awaitingFirstBytes(
  state: NegotiationState,
  context: NegotiationContext,
  buffered: Buffer,
): NegotiationResult {
  if (buffered.length === 0) return { action: { kind: 'read-more' }, state };
  if (buffered[0] !== TLS_HANDSHAKE_RECORD) {
    return awaitingPacket({ ...state, step: StartupStep.AwaitingPacket }, context, buffered);
  }
  if (!context.tlsAvailable) {
    return {
      action: {
        kind: 'close',
        reason: 'direct_tls_unavailable',
        message: 'direct TLS connection attempted but TLS is not enabled here',
      },
      state: { ...state, step: StartupStep.Done },
    };
  }
  return {
    action: { kind: 'start-direct-tls' },
    state: { ...state, step: StartupStep.AwaitingTlsHandshake, inTls: true, directTls: true },
  };
}

/** ProcessStartupPacket(): one length-prefixed packet. */
function awaitingPacket(
  state: NegotiationState,
  context: NegotiationContext,
  buffered: Buffer,
): NegotiationResult {
  let decoded: StartupPacket;
  let length: number | undefined;
  try {
    length = startupPacketLength(buffered);
    if (length === undefined || buffered.length < length) {
      return { action: { kind: 'read-more' }, state };
    }
    decoded = decodeStartupPacket(buffered.subarray(0, length));
  } catch (error) {
    if (!(error instanceof StartupPacketError)) throw error;
    const reason =
      error.sqlstate === SqlState.FEATURE_NOT_SUPPORTED
        ? 'unsupported_protocol'
        : 'protocol_violation';
    return refuse(state, reason, error.sqlstate, error.message);
  }
  const packet = buffered.subarray(0, length);
  const rest = buffered.subarray(length);
  switch (decoded.kind) {
    case 'ssl-request':
      if (!state.sslDone) return sslRequest(state, context, rest, length);
      return repeatedRequest(state, packet);
    case 'gssenc-request':
      if (!state.gssDone) return gssEncRequest(state, rest, length);
      return repeatedRequest(state, packet);
    case 'cancel':
      return {
        action: { kind: 'cancel', processId: decoded.processId, secretKey: decoded.secretKey },
        state: { ...state, step: StartupStep.Done },
      };
    case 'startup':
      return {
        action: { kind: 'startup', startup: decoded, packet, rest },
        state: { ...state, step: StartupStep.Done },
      };
  }
}

function sslRequest(
  state: NegotiationState,
  context: NegotiationContext,
  rest: Buffer,
  consumed: number,
): NegotiationResult {
  // No second TLS layer inside a direct TLS connection: PostgreSQL answers 'N' there.
  const accept = context.tlsAvailable && !state.inTls;
  if (rest.length > 0) {
    // Bytes sent before our answer cannot have been protected by it. Declining, PostgreSQL
    // answers 'N' and then this FATAL; accepting, PostgreSQL 18 answers 'S' and feeds the
    // bytes to the TLS handshake, which fails without a word. We refuse at once instead, in
    // plaintext the client can read.
    return refuse(
      state,
      'protocol_violation',
      SqlState.PROTOCOL_VIOLATION,
      'received unencrypted data after SSL request',
      MITM_DETAIL,
      accept ? undefined : 'N',
    );
  }
  if (!accept) {
    return {
      action: { kind: 'answer', reply: Buffer.from('N'), startTls: false, consumed },
      state: { ...state, sslDone: true },
    };
  }
  // After TLS, a GSSENCRequest is no longer answered (ProcessStartupPacket(port, true, true)).
  return {
    action: { kind: 'answer', reply: Buffer.from('S'), startTls: true, consumed },
    state: {
      ...state,
      step: StartupStep.AwaitingTlsHandshake,
      sslDone: true,
      gssDone: true,
      inTls: true,
    },
  };
}

/** pgtunnel never offers GSSAPI encryption: 'N', and libpq goes on with SSLRequest or startup. */
function gssEncRequest(state: NegotiationState, rest: Buffer, consumed: number): NegotiationResult {
  if (rest.length > 0) {
    return refuse(
      state,
      'protocol_violation',
      SqlState.PROTOCOL_VIOLATION,
      'received unencrypted data after GSSAPI encryption request',
      MITM_DETAIL,
      'N',
    );
  }
  return {
    action: { kind: 'answer', reply: Buffer.from('N'), startTls: false, consumed },
    state: { ...state, gssDone: true },
  };
}

/**
 * A request already answered (a second SSLRequest, an SSLRequest or GSSENCRequest inside TLS
 * set up by SSLRequest) is read as a protocol version, which is what PostgreSQL does.
 */
function repeatedRequest(state: NegotiationState, packet: Buffer): NegotiationResult {
  const code = packet.readUInt32BE(4);
  return refuse(
    state,
    'unsupported_protocol',
    SqlState.FEATURE_NOT_SUPPORTED,
    `unsupported frontend protocol ${code >>> 16}.${code & 0xffff}: server supports 3.0 to 3.2`,
  );
}

function refuse(
  state: NegotiationState,
  reason: NegotiationFailure,
  sqlstate: (typeof SqlState)[keyof typeof SqlState],
  message: string,
  detail?: string,
  answerFirst?: 'N',
): NegotiationResult {
  const error = fatal(sqlstate, message, detail === undefined ? {} : { detail });
  return {
    action: {
      kind: 'refuse',
      reply: answerFirst ? Buffer.concat([Buffer.from(answerFirst), error]) : error,
      reason,
      message,
    },
    state: { ...state, step: StartupStep.Done },
  };
}
