// Refusals by reason over the last hour, for the status page's chart. Prometheus keeps the
// real history; this keeps just enough in memory: samples of the refusal counters (summed over
// workers), from which per-minute increases are computed.

/** Per-minute increases of each reason over the last `minutes` minutes, oldest first. */
export interface RefusalBuckets {
  /** Start of each one-minute bucket. */
  starts: Date[];
  /** Reason → increase in each bucket. */
  byReason: Map<string, number[]>;
}

interface Sample {
  at: number;
  totals: ReadonlyMap<string, number>;
}

const MINUTE_MS = 60_000;

export class RefusalHistory {
  private samples: Sample[] = [];

  constructor(private readonly minutes = 60) {}

  /** Records counter totals (reason → value) taken at `at`. */
  record(at: Date, totals: ReadonlyMap<string, number>): void {
    this.samples.push({ at: at.getTime(), totals: new Map(totals) });
    const keepFrom = at.getTime() - (this.minutes + 1) * MINUTE_MS;
    // Keep one sample older than the window, as the baseline of its first bucket.
    while (this.samples.length > 2 && (this.samples[1]?.at ?? 0) < keepFrom) this.samples.shift();
  }

  /** Increases per minute up to `now`; a counter that went down (a worker restarted) counts 0. */
  buckets(now: Date): RefusalBuckets {
    const end = now.getTime();
    const starts: Date[] = [];
    const byReason = new Map<string, number[]>();
    const reasons = new Set<string>();
    for (const sample of this.samples)
      for (const reason of sample.totals.keys()) reasons.add(reason);
    for (const reason of reasons) byReason.set(reason, []);
    for (let i = this.minutes; i > 0; i--) {
      const from = end - i * MINUTE_MS;
      const to = from + MINUTE_MS;
      starts.push(new Date(from));
      for (const reason of reasons) {
        const before = this.valueAt(reason, from);
        const after = this.valueAt(reason, to);
        byReason.get(reason)?.push(Math.max(0, after - before));
      }
    }
    return { starts, byReason };
  }

  /** The last recorded total at or before `time` (the first sample's before any). */
  private valueAt(reason: string, time: number): number {
    let value: number | undefined;
    for (const sample of this.samples) {
      if (sample.at > time) break;
      value = sample.totals.get(reason) ?? 0;
    }
    return value ?? this.samples[0]?.totals.get(reason) ?? 0;
  }
}
