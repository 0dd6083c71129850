// A gateway with several workers, seen as the tests need it: the admin endpoint's view (which
// worker processes serve, and which configuration generation each one serves; tests wait on
// it instead of sleeping), its worker processes, and the certificate it serves.
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { type GatewayEnv, startGatewayEnv } from './gateway-env.js';
import { presentedSerial } from './peer-certificate.js';
import { freePort } from './ports.js';
import { run } from './run.js';

export interface WorkerStatus {
  state: string;
  generation: number;
  listen_addresses: string[];
  last_reload: { at: string; ok: boolean; error?: string } | null;
  worker_processes?: Array<{ pid: number; sessions: number | null; generation: number | null }>;
}

export async function fetchStatus(adminPort: number): Promise<WorkerStatus> {
  const response = await fetch(`http://127.0.0.1:${adminPort}/status`);
  return (await response.json()) as WorkerStatus;
}

/** Polls /status until `ready` holds for it; returns that status. */
export async function waitForStatus(
  adminPort: number,
  ready: (status: WorkerStatus) => boolean,
): Promise<WorkerStatus> {
  for (;;) {
    try {
      const status = await fetchStatus(adminPort);
      if (ready(status)) return status;
    } catch {
      // the endpoint is not up yet
    }
    await delay(50);
  }
}

/** `count` workers, each serving the generation the gateway reports, none of them in `gone`. */
export function allWorkersServe(count: number, gone: readonly number[] = []) {
  return (status: WorkerStatus): boolean => {
    const workers = status.worker_processes ?? [];
    return (
      status.state === 'listening' &&
      workers.length === count &&
      workers.every(
        (worker) => worker.generation === status.generation && !gone.includes(worker.pid),
      )
    );
  };
}

/** The worker processes of the gateway whose primary is `pid`. */
export async function childPids(pid: number): Promise<number[]> {
  const result = await run('pgrep', ['-P', String(pid)]);
  return result.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map(Number);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills one worker and resolves with the pid of its replacement as soon as it is forked. */
export async function killAndCatchReplacement(primary: number): Promise<number> {
  const before = await childPids(primary);
  const victim = before[0];
  if (victim === undefined) throw new Error('no worker to kill');
  process.kill(victim, 'SIGKILL');
  for (;;) {
    const fresh = (await childPids(primary)).find((pid) => !before.includes(pid));
    if (fresh !== undefined) return fresh;
    await delay(5);
  }
}

export interface WorkersGateway {
  env: GatewayEnv;
  adminPort: number;
  /** The certificate and key files the configuration file names (replace them to reload). */
  certFile: string;
  keyFile: string;
}

/**
 * A gateway with `workers` workers, the admin endpoint, and its certificate in files of its
 * own; resolves once every worker serves.
 */
export async function startWorkersGateway(
  workers: number,
  options: { serveArgs?: string[]; upstreamExtra?: string } = {},
): Promise<WorkersGateway> {
  const adminPort = await freePort();
  let certFile = '';
  let keyFile = '';
  const env = await startGatewayEnv({
    serveArgs: [
      '--workers',
      String(workers),
      '--admin-listen',
      `127.0.0.1:${adminPort}`,
      ...(options.serveArgs ?? []),
    ],
    ...(options.upstreamExtra
      ? {
          upstream: (cluster) =>
            `host=${cluster.socketDir} port=${cluster.port} ${options.upstreamExtra}`,
        }
      : {}),
    configFile: ({ pki, dir }) => {
      certFile = join(dir, 'server.crt');
      keyFile = join(dir, 'server.key');
      copyFileSync(pki.serverCert, certFile);
      copyFileSync(pki.serverKey, keyFile);
      return "ssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n";
    },
  });
  await waitForStatus(adminPort, allWorkersServe(workers));
  return { env, adminPort, certFile, keyFile };
}

/** The serial numbers of the certificates `count` handshakes were shown. */
export async function servedSerials(env: GatewayEnv, count: number): Promise<string[]> {
  const serials = new Set<string>();
  for (let i = 0; i < count; i++) serials.add(await presentedSerial(env.port, env.pki.caBundle));
  return [...serials];
}
