// The one way tests start long-lived programs (PostgreSQL, gateways, sshd, stunnel, psql …):
// each child leads its own process group and is remembered, so that when the test file ends,
// fails or is cut off, every group is stopped — with the backends, workers and per-connection
// children it forked — and nothing outlives the file. Children also carry PGTUNNEL_TEST_RUN, the
// mark by which scripts/run-tests.sh finds anything that escaped anyway.

import {
  type ChildProcess,
  type ChildProcessByStdio,
  type ChildProcessWithoutNullStreams,
  spawn as nodeSpawn,
  type SpawnOptions,
  type SpawnOptionsWithoutStdio,
  type SpawnOptionsWithStdioTuple,
  type StdioNull,
  type StdioPipe,
} from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Readable, Writable } from 'node:stream';

export interface TrackOptions {
  /** Signal that asks the group's leader to stop cleanly before the whole group is killed
   * (SIGQUIT for a postmaster: immediate shutdown, which still removes its shared memory). */
  reapSignal?: NodeJS.Signals;
}

const groups = new Map<number, NodeJS.Signals>();
const dirs = new Set<string>();
const REAP_GRACE_MS = 5_000;

/**
 * The environment a child gets: the one asked for, plus the run's mark when there is one, and a
 * runtime directory inside the test's own temp dir unless one was given, so that the default PID
 * file of a gateway a test kills outright (`$XDG_RUNTIME_DIR/pgtunnel-PORT.pid`, else /tmp) is
 * removed with the test's files instead of being left in /tmp.
 */
export function childEnv(env: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv {
  const base = env ?? process.env;
  const mark = process.env.PGTUNNEL_TEST_RUN;
  return {
    ...base,
    ...(mark ? { PGTUNNEL_TEST_RUN: mark } : {}),
    ...(base.XDG_RUNTIME_DIR === undefined ? { XDG_RUNTIME_DIR: tmpdir() } : {}),
  };
}

export function spawn(
  command: string,
  args: readonly string[],
  options: SpawnOptionsWithStdioTuple<StdioPipe, StdioPipe, StdioPipe> & TrackOptions,
): ChildProcessWithoutNullStreams;
export function spawn(
  command: string,
  args: readonly string[],
  options: SpawnOptionsWithStdioTuple<StdioNull, StdioPipe, StdioPipe> & TrackOptions,
): ChildProcessByStdio<null, Readable, Readable>;
export function spawn(
  command: string,
  args: readonly string[],
  options: SpawnOptionsWithStdioTuple<StdioPipe, StdioNull, StdioNull> & TrackOptions,
): ChildProcessByStdio<Writable, null, null>;
export function spawn(
  command: string,
  args: readonly string[],
  options?: SpawnOptionsWithoutStdio & TrackOptions,
): ChildProcessWithoutNullStreams;
export function spawn(
  command: string,
  args: readonly string[],
  options?: SpawnOptions & TrackOptions,
): ChildProcess;
export function spawn(
  command: string,
  args: readonly string[],
  options: SpawnOptions & TrackOptions = {},
): ChildProcess {
  const { reapSignal, ...spawnOptions } = options;
  const child = nodeSpawn(command, args, {
    ...spawnOptions,
    env: childEnv(spawnOptions.env),
    detached: true,
  });
  const pid = child.pid;
  if (pid !== undefined) {
    groups.set(pid, reapSignal ?? 'SIGTERM');
    child.once('exit', () => {
      // The leader is gone; anything it left in its group is still reaped at the end.
      if (!groupExists(pid)) groups.delete(pid);
    });
  }
  return child;
}

/** A temp directory removed when the file ends, fails or is cut off, if the test did not. */
export function trackDir(path: string): string {
  dirs.add(path);
  return path;
}

function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, run as another user
  }
}

/** Process ids (not zombies) whose process group is `pgid`. */
function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // pid (comm) state ppid pgrp …: comm may hold spaces and parentheses, so split after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] !== 'Z' && Number(fields[2]) === pgid) members.push(Number(entry));
  }
  return members;
}

function signalGroup(pgid: number, signal: NodeJS.Signals, leaderOnly = false): void {
  try {
    process.kill(leaderOnly ? pgid : -pgid, signal);
  } catch {
    // already gone
  }
}

/** Blocks the thread for `ms` (the reaper runs in exit handlers, where nothing async runs). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Stops every group still alive — asks each leader with its reap signal, waits for the groups
 * to empty, then kills what is left — and removes the tracked directories. Synchronous, so it
 * also works from an 'exit' handler.
 */
export function reapAll(): { groups: number; dirs: number } {
  const alive = [...groups.keys()].filter((pgid) => groupMembers(pgid).length > 0);
  for (const pgid of alive) signalGroup(pgid, groups.get(pgid) ?? 'SIGTERM', true);
  const deadline = Date.now() + REAP_GRACE_MS;
  while (alive.some((pgid) => groupMembers(pgid).length > 0) && Date.now() < deadline) {
    sleepSync(50);
  }
  for (const pgid of alive) signalGroup(pgid, 'SIGKILL');
  while (alive.some((pgid) => groupMembers(pgid).length > 0) && Date.now() < deadline + 2_000) {
    sleepSync(20);
  }
  groups.clear();
  const removed = dirs.size;
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
  return { groups: alive.length, dirs: removed };
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let installed = false;
/** Reaps at process exit and on SIGINT/SIGTERM/SIGHUP (then dies of that signal). */
export function reapOnExit(): void {
  if (installed) return;
  installed = true;
  process.on('exit', () => {
    reapAll();
  });
  let dying = false;
  const onSignal = (signal: NodeJS.Signals) => {
    // A second signal (a runner and its time limit both send one) must not cut the reaping short:
    // the handlers stay installed until it is done, then the process dies of the first signal.
    if (dying) return;
    dying = true;
    reapAll();
    for (const other of SIGNALS) process.removeAllListeners(other);
    process.kill(process.pid, signal);
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

reapOnExit();
