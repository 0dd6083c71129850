// The admin endpoint's view of a gateway with workers: which worker processes serve, and which
// configuration generation each one serves. Tests wait on it instead of sleeping.
import { setTimeout as delay } from 'node:timers/promises';

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
