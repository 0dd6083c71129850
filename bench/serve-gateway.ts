// The `pgtunnel serve` every bench section measures: the built CLI on a free loopback port, TLS
// with the tests' server certificate, PostgreSQL reached over its unix socket without TLS.
import type { Cluster } from '../test/helpers/pg-cluster.js';
import { type PgtunnelProcess, startPgtunnel } from '../test/helpers/pgtunnel-process.js';
import type { TestPki } from '../test/helpers/pki.js';
import { freePort } from '../test/helpers/ports.js';

export async function startBenchGateway(
  cluster: Cluster,
  pki: TestPki,
  options: {
    workers: number;
    maxConnections?: number;
    extraArgs?: string[];
    /** Another build's dist/cli/main.js, to compare with this one. */
    cli?: string;
  },
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
      '--max-connections',
      String(options.maxConnections ?? 500),
      ...(options.extraArgs ?? []),
    ],
    options.cli ? { cli: options.cli } : { compiled: true },
  );
  return { gateway, port };
}
