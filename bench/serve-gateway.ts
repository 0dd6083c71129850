// The `pgtunnel serve` every bench section measures: the built CLI (or another build's), with at
// most 500 sessions per worker unless told otherwise (test/helpers/tls-hops.ts starts it).
import type { Cluster } from '../test/helpers/pg-cluster.js';
import type { PgtunnelProcess } from '../test/helpers/pgtunnel-process.js';
import type { TestPki } from '../test/helpers/pki.js';
import { type ServeGatewayOptions, startServeGateway } from '../test/helpers/tls-hops.js';

export function startBenchGateway(
  cluster: Cluster,
  pki: TestPki,
  options: Omit<ServeGatewayOptions, 'compiled'>,
): Promise<{ gateway: PgtunnelProcess; port: number }> {
  return startServeGateway(cluster, pki, {
    ...options,
    maxConnections: options.maxConnections ?? 500,
    compiled: true,
  });
}
