// Runs at most `limit` tasks at a time: the probes of a check share one bound, so a cipher scan
// of several targets does not open hundreds of connections at once.
export type Limit = <T>(task: () => Promise<T>) => Promise<T>;

export function createLimit(limit: number): Limit {
  let running = 0;
  const waiting: Array<() => void> = [];
  const next = () => {
    running--;
    waiting.shift()?.();
  };
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await task();
    } finally {
      next();
    }
  };
}
