// Free loopback ports for servers that must be told their port up front.
import { createServer } from 'node:net';

/**
 * Ports already handed out in this process: the kernel may give a closed probe's port again to
 * the next probe, and a test that asks for several ports before binding any needs them distinct.
 */
const handedOut = new Set<number>();

/** A TCP port that was free on 127.0.0.1 a moment ago, and not handed out before here. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await probePort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

function probePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the port of a probe socket'));
      });
    });
  });
}
