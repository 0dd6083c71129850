// What every tunnel the Node API opens returns: where to connect locally, and how to stop.

/** A running tunnel or gateway on this machine. */
export interface LocalEndpoint {
  /** The local address clients connect to (e.g. `127.0.0.1`). */
  host: string;
  /** The local TCP port (the real one when 0 was asked for). */
  port: number;
  /** Stops listening and closes every connection; resolves once all are closed. */
  close(): Promise<void>;
}

/** Splits `host:port` or `[v6]:port` as the listeners describe themselves. */
export function splitHostPort(address: string): { host: string; port: number } {
  const match = /^\[?([^\]]*)\]?:(\d+)(?: \(fd \d+\))?$/.exec(address);
  if (!match?.[1] || !match[2]) throw new Error(`not a TCP address: ${address}`);
  return { host: match[1], port: Number(match[2]) };
}
