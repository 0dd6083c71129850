// Where the admin console's process-wide answers come from. Sessions live per worker and a
// reload is the main process's job, so a console running in a worker asks the main process over
// the cluster IPC channel (request/response with an id, like worker-sessions.ts); in a single
// process the main process's own answers are used directly.
import cluster, { type Worker } from 'node:cluster';
import type { SessionRecord } from '../../gateway/gateway-sessions.js';
import { type SessionView, sessionView } from '../session-view.js';
import { answerSessionRequests, collectWorkerSessions } from '../worker-sessions.js';

/** What the main process answers for every console. */
export interface ConsoleAuthority {
  /** Every open session, over all workers. */
  sessions(): Promise<SessionView[]>;
  /** A reload of the whole gateway, as SIGHUP does. */
  reload(): Promise<{ ok: boolean; error?: string | undefined }>;
}

const REQUEST = 'pgtunnel:console-request';
const RESPONSE = 'pgtunnel:console-response';

type Operation = 'sessions' | 'reload';

interface ConsoleRequest {
  type: typeof REQUEST;
  requestId: number;
  operation: Operation;
}

interface ConsoleResponse {
  type: typeof RESPONSE;
  requestId: number;
  sessions?: SessionView[];
  reload?: { ok: boolean; error?: string | undefined };
  error?: string;
}

function isMessage<T extends { type: string }>(message: unknown, type: T['type']): message is T {
  return typeof message === 'object' && message !== null && (message as T).type === type;
}

/** The main process's answers; without `sessions`, a console lists its own process's. */
interface MainAnswers {
  sessions?: (() => Promise<SessionView[]>) | undefined;
  reload: ConsoleAuthority['reload'];
}

let mainAuthority: MainAnswers | undefined;

/**
 * In the main process, once the gateway runs: answers consoles in this process and, with
 * workers, their requests over IPC. Reloads are serialized, as for signals.
 */
export function serveConsoleRequests(authority: MainAnswers): void {
  let reloading: Promise<unknown> = Promise.resolve();
  const serialized: MainAnswers = {
    ...(authority.sessions ? { sessions: authority.sessions } : {}),
    reload: () => {
      const next = reloading.then(() => authority.reload());
      reloading = next.catch(() => {});
      return next;
    },
  };
  mainAuthority = serialized;
  if (!cluster.isPrimary) return;
  cluster.on('message', (worker: Worker, message: unknown) => {
    if (!isMessage<ConsoleRequest>(message, REQUEST)) return;
    const reply = (answer: Omit<ConsoleResponse, 'type' | 'requestId'>) => {
      if (!worker.isConnected()) return;
      worker.send({ type: RESPONSE, requestId: message.requestId, ...answer }, () => {});
    };
    const sessions = serialized.sessions ?? (async () => []);
    const work =
      message.operation === 'sessions'
        ? sessions().then((list) => reply({ sessions: list }))
        : serialized.reload().then((reload) => reply({ reload }));
    work.catch((error: unknown) => reply({ error: String((error as Error)?.message ?? error) }));
  });
}

let nextRequestId = 1;

function askMain(operation: Operation): Promise<ConsoleResponse> {
  const requestId = nextRequestId++;
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown) => {
      if (!isMessage<ConsoleResponse>(message, RESPONSE) || message.requestId !== requestId) return;
      process.off('message', onMessage);
      if (message.error !== undefined) reject(new Error(message.error));
      else resolve(message);
    };
    process.on('message', onMessage);
    const request: ConsoleRequest = { type: REQUEST, requestId, operation };
    process.send?.(request, undefined, undefined, (error: Error | null) => {
      if (!error) return;
      process.off('message', onMessage);
      reject(error);
    });
  });
}

/**
 * The authority a console in this process uses: the main process (over IPC from a worker, or
 * directly), or, when no main process serves requests (inetd mode), this process's own
 * sessions and no reload.
 */
export function consoleAuthority(ownSessions: () => SessionView[]): ConsoleAuthority {
  if (cluster.isWorker) {
    return {
      sessions: async () => (await askMain('sessions')).sessions ?? [],
      reload: async () => (await askMain('reload')).reload ?? { ok: false, error: 'no answer' },
    };
  }
  return {
    sessions: mainAuthority?.sessions ?? (async () => ownSessions()),
    reload:
      mainAuthority?.reload ??
      (async () => ({
        ok: false,
        error: 'this gateway cannot reload from the console (inetd mode); restart it instead',
      })),
  };
}

/**
 * In a worker when the admin endpoint is off: still answer the main process's session
 * requests, so SHOW SESSIONS in any worker's console lists every worker's sessions.
 */
export function workerConsoleHooks(): {
  onStart(gateway: { registry: { list(): SessionRecord[] } }): void;
} {
  return {
    onStart(gateway) {
      answerSessionRequests(() =>
        gateway.registry.list().map((record) => sessionView(record, process.pid)),
      );
    },
  };
}

/** In the main process with workers: every worker's sessions. */
export async function allWorkerSessions(): Promise<SessionView[]> {
  return (await collectWorkerSessions(WORKER_ANSWER_TIMEOUT_MS)).sessions;
}

/** How long the main process waits for a worker's sessions. */
const WORKER_ANSWER_TIMEOUT_MS = 2_000;
