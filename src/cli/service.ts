// One lifecycle for every long-running command (serve --raw, connect, ssh; serve can adopt
// it): refuse a PID file that names a live process, start, write the PID file, say "ready",
// then follow signals as PostgreSQL's postmaster does (SIGTERM smart, SIGINT fast, SIGHUP
// reload), clean up and exit with a code that tells how the stop went.
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { ExitCode } from './exit.js';
import { checkPidFile, removePidFile, writePidFile } from './pid-file.js';

/** smart: let open sessions finish; fast: close them now. */
export type StopMode = 'smart' | 'fast';

/** A started service, as the lifecycle drives it. */
export interface RunningService {
  /**
   * Stops accepting and ends the sessions as `mode` says. Called once more with 'fast' when a
   * second signal arrives during a smart stop, so it must tolerate being called twice.
   */
  stop(mode: StopMode): Promise<void>;
  /** Applies a new configuration (SIGHUP). Without it, SIGHUP logs `noReload`. */
  reload?(): Promise<void>;
  /** Open sessions, for the shutdown log. */
  sessions?(): number;
}

export interface ServiceOptions {
  logger: Logger;
  /** Written once ready, removed at exit; '' or undefined for none. */
  pidFile?: string | undefined;
  /** Binds and starts; rejects before anything is accepted. */
  start(): Promise<RunningService>;
  /** Says the service is ready (the line scripts and tests wait for). */
  ready(): void;
  /** Runs after the stop, before the exit (temporary files, the admin endpoint). */
  cleanup?(): Promise<void> | void;
  /** What SIGHUP logs when the service cannot reload. */
  noReload?: string;
}

/**
 * Runs the lifecycle up to "ready" and installs the signal handlers; the process then exits
 * from them: 0 after a clean stop, 1 when the stop failed or a third signal cut it short.
 */
export async function runService(options: ServiceOptions): Promise<void> {
  const { logger } = options;
  const pidFile = options.pidFile || undefined;
  // A second instance is told about the first before it fails to bind the same addresses.
  if (pidFile) checkPidFile(pidFile);
  const service = await options.start();
  try {
    if (pidFile) writePidFile(pidFile);
  } catch (error) {
    await service.stop('fast');
    throw error;
  }
  const exit = async (code: number): Promise<never> => {
    if (pidFile) removePidFile(pidFile);
    try {
      await options.cleanup?.();
    } catch (error) {
      logger.error({ err: describeError(error) }, 'error during cleanup');
      code = ExitCode.FAILURE;
    }
    process.exit(code);
  };

  let stopping: StopMode | undefined;
  const onStopSignal = (signal: NodeJS.Signals) => {
    const mode: StopMode = signal === 'SIGTERM' ? 'smart' : 'fast';
    if (stopping === undefined) {
      stopping = mode;
      logger.info(
        { mode, ...(service.sessions ? { sessions: service.sessions() } : {}) },
        mode === 'smart' ? 'received smart shutdown request' : 'received fast shutdown request',
      );
      service.stop(mode).then(
        () => {
          logger.info({}, 'shut down');
          return exit(ExitCode.OK);
        },
        (error: unknown) => {
          logger.error({ err: describeError(error) }, 'error during shutdown');
          return exit(ExitCode.FAILURE);
        },
      );
      return;
    }
    if (stopping === 'smart') {
      stopping = 'fast';
      logger.warn({}, 'second signal: closing all sessions now');
      service.stop('fast').catch(() => {});
      return;
    }
    logger.warn({}, 'another signal during a fast shutdown: exiting at once');
    if (pidFile) removePidFile(pidFile);
    process.exit(ExitCode.FAILURE);
  };
  process.on('SIGTERM', onStopSignal);
  process.on('SIGINT', onStopSignal);

  let reloading = Promise.resolve();
  process.on('SIGHUP', () => {
    const reload = service.reload?.bind(service);
    if (!reload) {
      logger.warn(
        {},
        options.noReload ?? 'this command does not reload; restart it to apply changes',
      );
      return;
    }
    reloading = reloading.then(async () => {
      logger.info({}, 'received reload request');
      try {
        await reload();
      } catch (error) {
        logger.error({ err: describeError(error) }, 'reload failed; the old configuration stays');
      }
    });
  });
  // Handlers first: whoever waits for the ready line may signal at once.
  options.ready();
}
