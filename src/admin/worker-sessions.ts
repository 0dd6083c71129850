// /status with workers: the primary asks every worker for its open sessions over the cluster
// IPC channel and merges the answers. Like prom-client's own cluster metrics, the exchange is
// request/response messages with an id, so it runs beside the supervisor's messages.
import cluster, { type Worker } from 'node:cluster';
import type { SessionView } from './session-view.js';

const SESSIONS_REQUEST = 'pgtunnel:sessions-request';
const SESSIONS_RESPONSE = 'pgtunnel:sessions-response';

interface SessionsRequest {
  type: typeof SESSIONS_REQUEST;
  requestId: number;
}

interface SessionsResponse {
  type: typeof SESSIONS_RESPONSE;
  requestId: number;
  sessions: SessionView[];
}

/** How one worker answered. */
export interface WorkerReport {
  pid: number | undefined;
  /** Its open sessions, or undefined if it did not answer in time. */
  sessions: number | undefined;
  error?: string;
}

function isMessage<T extends { type: string }>(message: unknown, type: T['type']): message is T {
  return typeof message === 'object' && message !== null && (message as T).type === type;
}

/**
 * In a worker: answers the primary's requests with `list()`. Install it early, before the
 * gateway is ready, so a starting worker answers (with no sessions) instead of timing out.
 * Returns a function that removes the listener.
 */
export function answerSessionRequests(list: () => SessionView[]): () => void {
  const onMessage = (message: unknown) => {
    if (!isMessage<SessionsRequest>(message, SESSIONS_REQUEST)) return;
    const reply: SessionsResponse = {
      type: SESSIONS_RESPONSE,
      requestId: message.requestId,
      sessions: list(),
    };
    // The callback swallows a closed channel: the primary is going away anyway.
    process.send?.(reply, undefined, undefined, () => {});
  };
  process.on('message', onMessage);
  return () => process.off('message', onMessage);
}

let nextRequestId = 1;

function askWorker(worker: Worker, timeoutMs: number): Promise<SessionView[]> {
  const requestId = nextRequestId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: unknown) => {
      if (!isMessage<SessionsResponse>(message, SESSIONS_RESPONSE)) return;
      if (message.requestId !== requestId) return;
      cleanup();
      resolve(message.sessions);
    };
    const onExit = () => {
      cleanup();
      reject(new Error('exited before answering'));
    };
    const cleanup = () => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.once('exit', onExit);
    const request: SessionsRequest = { type: SESSIONS_REQUEST, requestId };
    // With a callback, a closed channel is reported here instead of as an 'error' event.
    worker.send(request, (error) => {
      if (!error) return;
      cleanup();
      reject(error);
    });
  });
}

/** In the primary: every connected worker's sessions (tagged with its pid), and who answered. */
export async function collectWorkerSessions(
  timeoutMs: number,
): Promise<{ sessions: SessionView[]; workers: WorkerReport[] }> {
  const workers = Object.values(cluster.workers ?? {}).filter(
    (worker): worker is Worker => worker?.isConnected() === true,
  );
  const answers = await Promise.allSettled(workers.map((worker) => askWorker(worker, timeoutMs)));
  const sessions: SessionView[] = [];
  const reports: WorkerReport[] = [];
  answers.forEach((answer, i) => {
    const pid = workers[i]?.process.pid;
    if (answer.status === 'fulfilled') {
      for (const session of answer.value) sessions.push({ ...session, pid: pid ?? session.pid });
      reports.push({ pid, sessions: answer.value.length });
    } else {
      reports.push({ pid, sessions: undefined, error: String(answer.reason?.message) });
    }
  });
  return { sessions, workers: reports };
}
