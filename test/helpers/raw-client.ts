// A raw PostgreSQL wire client for tests that send what real clients never would: pipelined
// plaintext, bad lengths, half handshakes. Reads replies byte-exact.
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { decodeErrorFields } from '../../src/protocol/backend-error.js';
import { encodeSslRequest } from '../../src/protocol/frontend.js';

export interface RawReply {
  /** Everything received until the server closed. */
  bytes: Buffer;
  closed: true;
}

export function openRaw(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/**
 * Collects bytes until the peer closes. No deadline: a server that never closes is the
 * runner's per-file time limit to catch.
 */
export function collect(socket: Socket): Promise<RawReply> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('close', () => resolve({ bytes: Buffer.concat(chunks), closed: true }));
    socket.on('error', () => {});
  });
}

/** Decodes an ErrorResponse at the start of `bytes` into its fields (S, C, M, D …). */
export function errorFields(bytes: Buffer): Map<string, string> | undefined {
  if (bytes[0] !== 0x45 || bytes.length < 5) return undefined;
  const length = bytes.readUInt32BE(1);
  return decodeErrorFields(bytes.subarray(5, 1 + length));
}

export function int32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value >>> 0);
  return buffer;
}

/**
 * SSLRequest, expect 'S', then a TLS handshake that verifies the server as `localhost`
 * against `caFile`; optionally with ALPN or a session to resume.
 */
export async function openTlsSession(
  port: number,
  caFile: string,
  options: { alpn?: string[]; session?: Buffer; servername?: string } = {},
): Promise<TLSSocket> {
  const raw = await openRaw(port);
  raw.write(encodeSslRequest());
  const answer = await new Promise<Buffer>((resolve) => raw.once('data', resolve));
  if (answer.toString() !== 'S')
    throw new Error(`expected 'S' to SSLRequest, got ${answer.toString('hex')}`);
  const socket = tlsConnect({
    socket: raw,
    servername: options.servername ?? 'localhost',
    ca: readFileSync(caFile),
    ...(options.alpn ? { ALPNProtocols: options.alpn } : {}),
    ...(options.session ? { session: options.session } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

/** Writes `bytes` and resolves with everything received until the peer closes. */
export function sendUntilClosed(socket: TLSSocket | Socket, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.once('close', () => resolve(Buffer.concat(chunks)));
    socket.write(bytes);
  });
}
