// A ready-made scene for gateway tests: a per-run PKI, a real PostgreSQL, and `pgtunnel serve`
// in front of it, plus the libpq connection strings a client needs.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Cluster, type ClusterOptions, startCluster } from './pg-cluster.js';
import { type PgtunnelProcess, startPgtunnel } from './pgtunnel-process.js';
import { createTestPki, type TestPki } from './pki.js';
import { freePort } from './ports.js';

export interface GatewayEnv {
  pki: TestPki;
  cluster: Cluster;
  gateway: PgtunnelProcess;
  port: number;
  /** Scratch directory for config files and sockets. */
  dir: string;
  /** libpq conninfo to the gateway with sslmode=verify-full and our CA, plus `extra`. */
  conninfo(extra?: string): string;
  /** Restarts the gateway with the same settings plus `more` arguments. */
  restart(more?: string[]): Promise<void>;
  close(): Promise<void>;
}

export interface GatewayEnvOptions {
  cluster?: ClusterOptions;
  /** Extra `pgtunnel serve` arguments. */
  serveArgs?: string[];
  /** The upstream conninfo, given the cluster; default: its unix socket. */
  upstream?: (cluster: Cluster, pki: TestPki) => string;
  /** Config file contents (postgresql.conf syntax), written to dir/pgtunnel.conf and passed with -f. */
  configFile?: (env: { pki: TestPki; cluster: Cluster; dir: string; port: number }) => string;
  pki?: TestPki;
  /** Extra environment for the gateway process (NODE_OPTIONS …). */
  gatewayEnv?: NodeJS.ProcessEnv;
}

export async function startGatewayEnv(options: GatewayEnvOptions = {}): Promise<GatewayEnv> {
  const pki = options.pki ?? (await createTestPki());
  const cluster = await startCluster(options.cluster);
  const dir = mkdtempSync(join(tmpdir(), 'pgtunnel-gw-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  const upstream =
    options.upstream?.(cluster, pki) ??
    `host=${cluster.socketDir} port=${cluster.port} sslmode=disable`;
  const args = (more: string[] = []) => {
    // Certificates go in the file when there is one, so that the file can replace them
    // (command-line flags would override it).
    const certificates = options.configFile
      ? []
      : ['--ssl-cert-file', pki.serverCert, '--ssl-key-file', pki.serverKey];
    const list = [
      'serve',
      '--listen-addresses',
      '127.0.0.1',
      '--port',
      String(port),
      ...certificates,
      '--upstream',
      upstream,
      '--workers',
      '1',
      ...(options.serveArgs ?? []),
      ...more,
    ];
    if (options.configFile) {
      const file = join(dir, 'pgtunnel.conf');
      const defaults = `ssl_cert_file = '${pki.serverCert}'\nssl_key_file = '${pki.serverKey}'\n`;
      writeFileSync(file, defaults + options.configFile({ pki, cluster, dir, port }));
      list.push('--config', file);
    }
    return list;
  };
  let gateway: PgtunnelProcess;
  try {
    gateway = await startPgtunnel(args(), { env: options.gatewayEnv });
  } catch (error) {
    await cluster.stop();
    if (!options.pki) await pki.cleanup();
    throw error;
  }
  const env: GatewayEnv = {
    pki,
    cluster,
    gateway,
    port,
    dir,
    conninfo: (extra = '') =>
      `host=localhost port=${port} user=postgres dbname=postgres sslmode=verify-full sslrootcert=${pki.caBundle} ${extra}`.trim(),
    async restart(more) {
      await env.gateway.stop();
      env.gateway = await startPgtunnel(args(more), { env: options.gatewayEnv });
    },
    async close() {
      await env.gateway.stop('SIGINT');
      await cluster.stop();
      if (!options.pki) await pki.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return env;
}
