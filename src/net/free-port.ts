// Free TCP ports: whether a port can be bound now, and one the kernel picks.
import { createServer } from 'node:net';

function probe(port: number, host: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(undefined));
    server.listen({ port, host, exclusive: true }, () => {
      const address = server.address();
      server.close(() =>
        resolve(address && typeof address === 'object' ? address.port : undefined),
      );
    });
  });
}

/** Whether `port` on `host` can be bound at this moment. */
export async function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return (await probe(port, host)) === port;
}

/** A port the kernel reports free on `host` (it may be taken again before it is used). */
export async function pickFreePort(host = '127.0.0.1'): Promise<number> {
  const port = await probe(0, host);
  if (port === undefined) throw new Error(`could not find a free TCP port on ${host}`);
  return port;
}
