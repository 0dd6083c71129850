// ssh -f for a Node.js process, which cannot fork: the command starts itself again as a
// detached child (its own session, stdin closed, stderr kept as ssh -f keeps it), waits until
// the child reports its forwards listening, prints what the child would have printed, and
// exits 0. If the child fails first, its error is already on stderr and its status is returned.
import { spawn } from 'node:child_process';
import { PgTunnelError } from '../errors.js';

const BACKGROUND_ENV = 'PGTUNNEL_SSH_BACKGROUND';

interface ReadyMessage {
  ready: string[];
}

/** True in the child started by runInBackground(). */
export function isBackgroundChild(): boolean {
  return process.env[BACKGROUND_ENV] === '1' && typeof process.send === 'function';
}

/** Starts this same command in the background; resolves to the exit status for this process. */
export function runInBackground(print: (line: string) => void): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    detached: true,
    env: { ...process.env, [BACKGROUND_ENV]: '1' },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (message: ReadyMessage) => {
      for (const line of message.ready) print(line);
      child.removeAllListeners('exit');
      child.disconnect();
      child.unref();
      resolve(0);
    });
    child.once('exit', (code) => resolve(code ?? 1));
    child.once('error', (error) =>
      reject(
        new PgTunnelError('ERR_SSH', `cannot start the background process: ${error.message}`, {
          cause: error,
        }),
      ),
    );
  });
}

/** In the background child: hands the ready lines to the waiting parent and lets it go. */
export function reportReady(lines: string[]): void {
  const message: ReadyMessage = { ready: lines };
  process.send?.(message, () => process.disconnect?.());
}
