// inetd mode: the process's standard input and output are one client connection (as under
// inetd, xinetd or `stunnel` in inetd mode). When fd 0 is a socket it is used for both
// directions, so a half-close reaches the peer; otherwise stdin and stdout are joined.
import { fstatSync } from 'node:fs';
import { Socket } from 'node:net';
import { Duplex } from 'node:stream';

/** The client connection on stdin/stdout, as one Duplex. */
export function stdioConnection(): Duplex {
  let isSocket = false;
  try {
    isSocket = fstatSync(0).isSocket();
  } catch {
    isSocket = false;
  }
  if (isSocket) {
    return new Socket({ fd: 0, readable: true, writable: true, allowHalfOpen: true });
  }
  return Duplex.from({ readable: process.stdin, writable: process.stdout });
}
