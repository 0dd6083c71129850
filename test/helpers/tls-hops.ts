// The client-side TLS hops, each with its stunnel reference, started against one cluster:
// `connect` beside stunnel4 `protocol=pgsql`, and `connect --raw` + `serve --raw` beside a
// stunnel4 client + server pair; and `serve` terminating TLS. Each hop has the pids whose CPU
// is its cost. Used by the bench and by the test that counts the hops' system calls.
import { existsSync } from 'node:fs';
import type { Cluster } from './pg-cluster.js';
import { type PgtunnelProcess, startPgtunnel } from './pgtunnel-process.js';
import type { TestPki } from './pki.js';
import { freePort } from './ports.js';
import { STUNNEL_BINARY, type Stunnel, startStunnel } from './stunnel.js';

export interface Hop {
  label: string;
  /** Plaintext conninfo psql uses to reach the server through the hop. */
  conninfo: string;
  pids: number[];
  stop(): Promise<void>;
}

const PLAIN = 'user=postgres dbname=postgres sslmode=disable';

/** `pgtunnel connect` with libpq's sslmode=require to the cluster (which must have ssl on). */
export async function startConnectHop(cluster: Cluster, compiled: boolean): Promise<Hop> {
  const port = await freePort();
  const tunnel = await startPgtunnel(
    [
      'connect',
      '--listen',
      `127.0.0.1:${port}`,
      `host=127.0.0.1 port=${cluster.port} sslmode=require`,
    ],
    { compiled },
  );
  return hopOf('pgtunnel connect', port, [tunnel]);
}

/**
 * `serve` with one worker, TLS to the client (psql with sslmode=require), PostgreSQL reached
 * over its unix socket without TLS. The pid is the primary's (the worker is its child).
 */
export async function startServeHop(
  cluster: Cluster,
  pki: TestPki,
  compiled: boolean,
): Promise<Hop> {
  const { gateway, port } = await startServeGateway(cluster, pki, { workers: 1, compiled });
  return {
    label: 'pgtunnel serve',
    conninfo: `host=127.0.0.1 port=${port} user=postgres dbname=postgres sslmode=require`,
    pids: [gateway.child.pid ?? 0],
    async stop() {
      await gateway.stop('SIGINT');
    },
  };
}

export interface ServeGatewayOptions {
  workers: number;
  maxConnections?: number;
  extraArgs?: string[];
  compiled?: boolean;
  /** Another build's dist/cli/main.js, to compare with this one. */
  cli?: string;
}

/**
 * `serve` on a free loopback port, TLS with the tests' server certificate, PostgreSQL reached
 * over its unix socket without TLS: the gateway the bench measures and the serve hop.
 */
export async function startServeGateway(
  cluster: Cluster,
  pki: TestPki,
  options: ServeGatewayOptions,
): Promise<{ gateway: PgtunnelProcess; port: number }> {
  const port = await freePort();
  const gateway = await startPgtunnel(
    [
      'serve',
      '--listen-addresses',
      '127.0.0.1',
      '--port',
      String(port),
      '--ssl-cert-file',
      pki.serverCert,
      '--ssl-key-file',
      pki.serverKey,
      '--upstream',
      `host=${cluster.socketDir} port=${cluster.port} sslmode=disable`,
      '--workers',
      String(options.workers),
      ...(options.maxConnections === undefined
        ? []
        : ['--max-connections', String(options.maxConnections)]),
      ...(options.extraArgs ?? []),
    ],
    options.cli ? { cli: options.cli } : { compiled: options.compiled === true },
  );
  return { gateway, port };
}

/** `connect --raw` → `serve --raw` → the cluster's plaintext port. */
export async function startRawPairHop(
  cluster: Cluster,
  pki: TestPki,
  compiled: boolean,
): Promise<Hop> {
  const rawPort = await freePort();
  const server = await startPgtunnel(
    [
      'serve',
      '--raw',
      '--listen-addresses',
      '127.0.0.1',
      '--port',
      String(rawPort),
      '--ssl-cert-file',
      pki.serverCert,
      '--ssl-key-file',
      pki.serverKey,
      '--upstream',
      `127.0.0.1:${cluster.port}`,
    ],
    { compiled },
  );
  const port = await freePort();
  const client = await startPgtunnel(
    [
      'connect',
      '--raw',
      '--listen',
      `127.0.0.1:${port}`,
      `host=localhost port=${rawPort} sslrootcert=${pki.caBundle}`,
    ],
    { compiled, env: { HOME: pki.dir } },
  );
  return hopOf('pgtunnel connect --raw + serve --raw', port, [client, server]);
}

/** stunnel4 client mode with `protocol = pgsql` (SSLRequest, then TLS) to the cluster. */
export async function startStunnelPgsqlHop(cluster: Cluster): Promise<Hop | undefined> {
  if (!existsSync(STUNNEL_BINARY)) return undefined;
  const port = await freePort();
  const stunnel = await startStunnel({
    client: true,
    acceptPort: port,
    connect: `127.0.0.1:${cluster.port}`,
    options: { protocol: 'pgsql', verifyChain: 'no' },
  });
  return stunnelHop('reference: stunnel4 protocol=pgsql', port, [stunnel]);
}

/** stunnel4 client → stunnel4 server → the cluster's plaintext port. */
export async function startStunnelPairHop(
  cluster: Cluster,
  pki: TestPki,
): Promise<Hop | undefined> {
  if (!existsSync(STUNNEL_BINARY)) return undefined;
  const serverPort = await freePort();
  const server = await startStunnel({
    client: false,
    acceptPort: serverPort,
    connect: `127.0.0.1:${cluster.port}`,
    options: { cert: pki.serverCert, key: pki.serverKey },
  });
  const port = await freePort();
  const client = await startStunnel({
    client: true,
    acceptPort: port,
    connect: `127.0.0.1:${serverPort}`,
    options: { CAfile: pki.caBundle, verifyChain: 'yes', checkHost: 'localhost' },
  });
  return stunnelHop('reference: stunnel4 client + server pair', port, [client, server]);
}

function hopOf(label: string, port: number, processes: PgtunnelProcess[]): Hop {
  return {
    label,
    conninfo: `host=127.0.0.1 port=${port} ${PLAIN}`,
    pids: processes.map((p) => p.child.pid ?? 0),
    async stop() {
      await Promise.all(processes.map((p) => p.stop('SIGINT')));
    },
  };
}

function stunnelHop(label: string, port: number, stunnels: Stunnel[]): Hop {
  return {
    label,
    conninfo: `host=127.0.0.1 port=${port} ${PLAIN}`,
    pids: stunnels.map((s) => s.pid),
    async stop() {
      await Promise.all(stunnels.map((s) => s.stop()));
    },
  };
}
