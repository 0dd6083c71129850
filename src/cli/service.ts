// One lifecycle for every long-running command (serve, serve --raw, connect, ssh): refuse a PID
// file that names a live process, start, write the PID file, say "ready", then follow signals
// as PostgreSQL's postmaster does (SIGTERM smart, SIGINT fast, SIGQUIT immediate, SIGHUP
// reload), clean up and exit with a code that tells how the stop went.
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { ExitCode } from './exit.js';
import { checkPidFile, removePidFile, writePidFile } from './pid-file.js';

/** What a service may ask of its lifecycle once started. */
export interface ServiceControl {
  /**
   * Reloads as SIGHUP does, queued behind any reload already running (a file watcher or the
   * admin console use it); resolves when this reload has finished, successful or not.
   */
  reload(): Promise<void>;
}

/** smart: let open sessions finish; fast: close them now. */
export type StopMode = 'smart' | 'fast';

/** A started service, as the lifecycle drives it. */
export interface RunningService {
  /**
   * Stops accepting and ends the sessions as `mode` says. Called once more with 'fast' when a
   * second signal arrives during a smart stop, so it must tolerate being called twice.
   */
  stop(mode: StopMode): Promise<void>;
  /**
   * Immediate shutdown (SIGQUIT, as PostgreSQL's): stop listening and cut every session now,
   * without a goodbye; the process exits right after. Without it, the exit alone ends them.
   */
  abort?(): void;
  /** Applies a new configuration (SIGHUP). Without it, SIGHUP logs `noReload`. */
  reload?(): Promise<void>;
  /** Open sessions, for the shutdown log. */
  sessions?(): number;
}

export interface ServiceOptions {
  logger: Logger;
  /** Written once ready, removed at exit; '' or undefined for none. */
  pidFile?: string | undefined;
  /**
   * Written when `pidFile` is not set, as a convenience (`pgtunnel reload` looks there): a
   * failure to write it is a warning, not a reason to stop.
   */
  fallbackPidFile?: string | undefined;
  /** Binds and starts; rejects before anything is accepted. */
  start(control: ServiceControl): Promise<RunningService>;
  /** Says the service is ready (the line scripts and tests wait for). */
  ready(): void | Promise<void>;
  /** Runs after the stop, before the exit (temporary files, the admin endpoint). */
  cleanup?(): Promise<void> | void;
  /** What SIGHUP logs when the service cannot reload. */
  noReload?: string;
}

/**
 * Runs the lifecycle up to "ready" and installs the signal handlers; the process then exits
 * from them: 0 after a clean stop, 1 when the stop failed, a third signal cut it short or
 * SIGQUIT asked for an immediate shutdown.
 */
export async function runService(options: ServiceOptions): Promise<void> {
  const { logger } = options;
  const pidFile = options.pidFile || undefined;
  // A second instance is told about the first before it fails to bind the same addresses.
  if (pidFile) checkPidFile(pidFile);

  let service: RunningService | undefined;
  let reloading = Promise.resolve();
  const reload = (): Promise<void> => {
    reloading = reloading.then(async () => {
      if (!service?.reload) {
        logger.warn(
          {},
          options.noReload ?? 'this command does not reload; restart it to apply changes',
        );
        return;
      }
      logger.info({}, 'received reload request');
      try {
        await service.reload();
      } catch (error) {
        logger.error({ err: describeError(error) }, 'reload failed; the old configuration stays');
      }
    });
    return reloading;
  };

  const running = await options.start({ reload });
  service = running;
  let writtenPidFile = pidFile;
  try {
    if (pidFile) writePidFile(pidFile);
    else if (options.fallbackPidFile) writtenPidFile = writeFallbackPidFile(options, logger);
  } catch (error) {
    await running.stop('fast');
    throw error;
  }
  const exit = async (code: number): Promise<never> => {
    if (writtenPidFile) removePidFile(writtenPidFile);
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
        { mode, ...(running.sessions ? { sessions: running.sessions() } : {}) },
        mode === 'smart' ? 'received smart shutdown request' : 'received fast shutdown request',
      );
      running.stop(mode).then(
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
      running.stop('fast').catch(() => {});
      return;
    }
    logger.warn({}, 'another signal during a fast shutdown: exiting at once');
    if (writtenPidFile) removePidFile(writtenPidFile);
    process.exit(ExitCode.FAILURE);
  };
  process.on('SIGTERM', onStopSignal);
  process.on('SIGINT', onStopSignal);
  process.on('SIGQUIT', () => {
    logger.warn({}, 'received immediate shutdown request');
    try {
      running.abort?.();
    } catch (error) {
      logger.error({ err: describeError(error) }, 'error during immediate shutdown');
    }
    void exit(ExitCode.FAILURE);
  });
  process.on('SIGHUP', () => {
    void reload();
  });
  // Handlers first: whoever waits for the ready line may signal at once.
  await options.ready();
}

/** Writes the fallback PID file; returns its path, or undefined when it could not. */
function writeFallbackPidFile(options: ServiceOptions, logger: Logger): string | undefined {
  const path = options.fallbackPidFile;
  if (!path) return undefined;
  try {
    writePidFile(path);
    return path;
  } catch (error) {
    logger.warn(
      { pid_file: path, err: describeError(error) },
      'could not write the default PID file; `pgtunnel reload` will need --pid-file or the process id',
    );
    return undefined;
  }
}
