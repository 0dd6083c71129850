// Proxy cost per unit of work on a shared, busy machine: the CPU seconds (utime + stime) a
// proxy's processes spent, read from /proc, which do not depend on how fast the run went.
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** The pid and every descendant (cluster workers, stunnel's threads are in the same pid). */
export function processTree(rootPid: number): number[] {
  const pids = [rootPid];
  try {
    const tasks = readFileSync(`/proc/${rootPid}/task/${rootPid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    for (const child of tasks) pids.push(...processTree(Number(child)));
  } catch {
    // gone
  }
  return pids;
}

/** CPU seconds (user + system, all threads) used so far by `pids`. */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // fields after the command name, which is in parentheses and may contain spaces
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      // gone
    }
  }
  return ticks / TICKS_PER_SECOND;
}

/** Resident memory (KiB) of `pids` together. */
export function rssKib(pids: readonly number[]): number {
  let kib = 0;
  for (const pid of pids) {
    try {
      kib += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return kib;
}

/** Runs `work` and returns its result with the CPU seconds the proxy (its process trees) spent. */
export async function measureCpu<T>(
  rootPids: readonly number[],
  work: () => Promise<T>,
): Promise<{ result: T; cpu: number }> {
  const pids = rootPids.flatMap(processTree);
  const before = cpuSeconds(pids);
  const result = await work();
  return { result, cpu: cpuSeconds(pids) - before };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}
