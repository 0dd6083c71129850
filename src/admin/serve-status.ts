// The state the status page reports for `pgtunnel serve` as a whole: listening, reloading or
// stopping, when it started, and the last reload's time and outcome. It learns them by wrapping
// the ServeController the CLI drives, so every reload path (SIGHUP, `pgtunnel reload`, file
// watching) and every shutdown is seen, in-process and with workers alike.
import type { ServeController } from '../gateway/supervisor.js';
import { maskPasswords } from './mask-passwords.js';

export { maskPasswords };

/** What the server is doing, as /status and /health report it. */
export type ServeState = 'listening' | 'reloading' | 'stopping';

/** The outcome of one reload request. */
export interface ReloadRecord {
  at: Date;
  ok: boolean;
  /** Why it failed (with passwords masked); the previous configuration stayed in effect. */
  error?: string;
}

/** How many reloads the status page lists. */
export const RELOAD_HISTORY_LENGTH = 20;

export class ServeStatus {
  readonly startedAt: Date;
  private current: ServeState = 'listening';
  private last: ReloadRecord | undefined;
  private readonly history: ReloadRecord[] = [];

  /** `onReload` is told each outcome, e.g. to count it in metrics. */
  constructor(
    private readonly onReload: (record: ReloadRecord) => void = () => {},
    now: Date = new Date(),
  ) {
    this.startedAt = now;
  }

  get state(): ServeState {
    return this.current;
  }

  get lastReload(): ReloadRecord | undefined {
    return this.last;
  }

  /** The last reloads, oldest first (at most RELOAD_HISTORY_LENGTH). */
  get reloadHistory(): readonly ReloadRecord[] {
    return this.history;
  }

  /** Returns a controller that does what `controller` does and records it here. */
  track(controller: ServeController): ServeController {
    return {
      addresses: () => controller.addresses(),
      current: () => controller.current(),
      ...(controller.workerGenerations
        ? { workerGenerations: () => controller.workerGenerations?.() ?? new Map() }
        : {}),
      reload: async () => {
        if (this.current === 'listening') this.current = 'reloading';
        let result: { ok: boolean; error?: string };
        try {
          result = await controller.reload();
        } catch (error) {
          this.record({ ok: false, error: String(error) });
          throw error;
        } finally {
          if (this.current === 'reloading') this.current = 'listening';
        }
        this.record(result);
        return result;
      },
      shutdown: (mode) => {
        this.current = 'stopping';
        return controller.shutdown(mode);
      },
      abort: () => {
        this.current = 'stopping';
        controller.abort();
      },
    };
  }

  private record(result: { ok: boolean; error?: string | undefined }): void {
    const record: ReloadRecord = { at: new Date(), ok: result.ok };
    if (!result.ok) record.error = maskPasswords(result.error ?? 'reload failed');
    this.last = record;
    this.history.push(record);
    if (this.history.length > RELOAD_HISTORY_LENGTH) this.history.shift();
    this.onReload(record);
  }
}
