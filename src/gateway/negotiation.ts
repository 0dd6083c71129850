// The first steps of a client connection, before any StartupMessage is trusted: SSLRequest
// (answered 'S' or 'N' exactly once), GSSENCRequest ('N'), PostgreSQL 17+ direct TLS (ALPN
// required), and the TLS handshake, as PostgreSQL's ProcessStartupPacket() does them.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Settings } from '../config/settings.js';
import type { Logger } from '../log.js';
import { ALPN_POSTGRESQL, SqlState, TLS_HANDSHAKE_RECORD } from '../protocol/codes.js';
import {
  decodeStartupPacket,
  type StartupPacket,
  StartupPacketError,
} from '../protocol/startup-packet.js';
import { describeTlsSession } from '../tls/peer-identity.js';
import type { TlsAcceptor } from '../tls/tls-acceptor.js';
import type { GatewayEvents, GatewayGeneration } from './client-connection.js';
import { IncompletePacketError, readFirstPacket } from './first-packet-reader.js';
import { reportHandshakeFailure } from './handshake-report.js';
import { ConnectionEnded, refuse } from './refusal.js';
import type { SessionRecord } from './session-registry.js';

export interface Negotiated {
  stream: Duplex;
  tls: TLSSocket | undefined;
  startup: StartupPacket;
  /** The raw first packet that ended negotiation (the StartupMessage, forwarded as-is). */
  packet: Buffer;
  /** Bytes the client sent after the StartupMessage. */
  extra: Buffer;
}

/** SSLRequest / GSSENCRequest / direct TLS, until a StartupMessage or CancelRequest arrives. */
export async function negotiate(
  socket: Socket,
  transport: 'tcp' | 'local',
  generation: GatewayGeneration,
  record: SessionRecord,
  log: Logger,
  current: { stream: Duplex },
  events: GatewayEvents,
): Promise<Negotiated> {
  const tlsAllowed = generation.tls !== undefined && transport === 'tcp';
  let stream: Duplex = socket;
  let tlsSocket: TLSSocket | undefined;
  let sslDone = false;
  let gssDone = false;
  let initial = await firstChunk(socket);

  if (initial[0] === TLS_HANDSHAKE_RECORD) {
    // PostgreSQL 17+ direct TLS: no SSLRequest, the handshake starts at once; ALPN is mandatory.
    if (!tlsAllowed || !generation.tls) {
      log.info(
        { client: record.clientAddress },
        'direct TLS connection attempted but TLS is not enabled',
      );
      throw new ConnectionEnded();
    }
    socket.unshift(initial);
    initial = Buffer.alloc(0);
    tlsSocket = await acceptTls(generation.tls, socket, generation.settings, record, events, log);
    stream = tlsSocket;
    current.stream = stream;
    sslDone = true;
    if (tlsSocket.alpnProtocol !== ALPN_POSTGRESQL) {
      events.connectionRefused('protocol_violation');
      refuse(
        SqlState.PROTOCOL_VIOLATION,
        'received direct SSL connection request without ALPN protocol negotiation extension',
      );
    }
  }

  for (;;) {
    const { packet, extra } = await readFirstPacket(stream, initial);
    initial = Buffer.alloc(0);
    const startup = decodeStartupPacket(packet);
    if (startup.kind === 'ssl-request' && !sslDone) {
      sslDone = true;
      if (extra.length > 0) refusePipelined('SSL', events);
      if (!tlsAllowed || !generation.tls) {
        socket.write('N');
        socket.resume();
        continue;
      }
      socket.write('S');
      tlsSocket = await acceptTls(generation.tls, socket, generation.settings, record, events, log);
      stream = tlsSocket;
      current.stream = stream;
      continue;
    }
    if (startup.kind === 'gssenc-request' && !gssDone && !tlsSocket) {
      // The gateway never offers GSSAPI encryption; libpq then goes on with SSLRequest.
      gssDone = true;
      if (extra.length > 0) refusePipelined('GSSAPI encryption', events);
      socket.write('N');
      socket.resume();
      continue;
    }
    if (startup.kind === 'ssl-request' || startup.kind === 'gssenc-request') {
      // A repeated request (or SSLRequest inside TLS) is read as a protocol version, as PostgreSQL does.
      const code = packet.readUInt32BE(4);
      throw new StartupPacketError(
        SqlState.FEATURE_NOT_SUPPORTED,
        `unsupported frontend protocol ${code >>> 16}.${code & 0xffff}: server supports 3.0 to 3.2`,
      );
    }
    return { stream, tls: tlsSocket, startup, packet, extra };
  }
}

async function acceptTls(
  acceptor: TlsAcceptor,
  socket: Socket,
  settings: Settings,
  record: SessionRecord,
  events: GatewayEvents,
  log: Logger,
): Promise<TLSSocket> {
  let tlsSocket: TLSSocket;
  try {
    tlsSocket = await acceptor.accept(socket, settings.authentication_timeout);
  } catch (error) {
    // Failed, timed out, or the client left during the handshake (e.g. it rejected our certificate).
    reportHandshakeFailure(error, record, log, events);
    throw error;
  }
  tlsSocket.on('error', () => {});
  tlsSocket.setNoDelay(true);
  record.tls = describeTlsSession(tlsSocket);
  record.sockets.add(tlsSocket as unknown as Socket);
  return tlsSocket;
}

function firstChunk(socket: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      cleanup();
      socket.pause();
      resolve(chunk);
    };
    const onEnd = () => {
      cleanup();
      reject(new IncompletePacketError());
    };
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
  });
}

function refusePipelined(what: string, events: GatewayEvents): never {
  events.connectionRefused('protocol_violation');
  refuse(
    SqlState.PROTOCOL_VIOLATION,
    `received unencrypted data after ${what} request`,
    'This could be either a client-software bug or evidence of an attempted man-in-the-middle attack.',
  );
}
