// The state the status page reports for `pgtunnel serve` as a whole: listening, reloading or
// stopping, when it started, and the last reload's time and outcome. It learns them by wrapping
// the ServeController the CLI drives, so every reload path (SIGHUP, `pgtunnel reload`, file
// watching) and every shutdown is seen, in-process and with workers alike.
import type { ServeController } from '../gateway/supervisor.js';

/** What the server is doing, as /status and /health report it. */
export type ServeState = 'listening' | 'reloading' | 'stopping';

/** The outcome of one reload request. */
export interface ReloadRecord {
  at: Date;
  ok: boolean;
  /** Why it failed (with passwords masked); the previous configuration stayed in effect. */
  error?: string;
}

export class ServeStatus {
  readonly startedAt: Date;
  private current: ServeState = 'listening';
  private last: ReloadRecord | undefined;

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
    };
  }

  private record(result: { ok: boolean; error?: string | undefined }): void {
    const record: ReloadRecord = { at: new Date(), ok: result.ok };
    if (!result.ok) record.error = maskPasswords(result.error ?? 'reload failed');
    this.last = record;
    this.onReload(record);
  }
}

/**
 * Masks password values in text that may quote a connection string (an invalid `upstream`
 * value is echoed in its error message): `password=…`, `sslpassword='…'`, `user:…@` in URIs.
 */
export function maskPasswords(text: string): string {
  return text
    .replace(/(password\s*=\s*)('(?:[^'\\]|\\.)*'?|[^\s&"]+)/gi, '$1[redacted]')
    .replace(/(:\/\/[^/@\s:]*:)[^@\s/]*@/g, '$1[redacted]@');
}
