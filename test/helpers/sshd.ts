// A disposable OpenSSH server on loopback for tests: temp host keys, authorized_keys and
// sshd_config, a random port, and kill/start that keep port and host keys (a crash and restart).
// Also drives `pgtunnel ssh` as a child process and makes key pairs with ssh-keygen.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { spawn } from './children.js';
import { type Cluster, startCluster } from './pg-cluster.js';
import { cliArgs } from './pgtunnel-process.js';
import { freePort } from './ports.js';
import { run } from './run.js';

const SSHD = '/usr/sbin/sshd';

/** A key pair made by ssh-keygen; `publicKey` is the `type base64` part of the .pub line. */
export interface KeyPair {
  privateKeyFile: string;
  publicKey: string;
  /** `SHA256:…` as ssh-keygen -l prints it. */
  fingerprint: string;
}

export async function createKeyPair(
  dir: string,
  name: string,
  type: 'ed25519' | 'ecdsa' | 'rsa' = 'ed25519',
  passphrase = '',
): Promise<KeyPair> {
  const file = join(dir, name);
  const args = ['-q', '-t', type, '-N', passphrase, '-C', '', '-f', file];
  if (type === 'rsa') args.push('-b', '2048');
  const made = await run('ssh-keygen', args, {});
  if (made.code !== 0) throw new Error(`ssh-keygen failed: ${made.stderr}`);
  const publicKey = readFileSync(`${file}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  const listed = await run('ssh-keygen', ['-l', '-f', `${file}.pub`], {});
  const fingerprint = /SHA256:\S+/.exec(listed.stdout)?.[0];
  if (!fingerprint) throw new Error(`ssh-keygen -l gave no fingerprint: ${listed.stdout}`);
  return { privateKeyFile: file, publicKey, fingerprint };
}

export interface SshdOptions {
  /** Public keys (`type base64`) allowed to log in as the current user. */
  authorizedKeys: string[];
  /** Host key types, one key each. Default: ed25519. */
  hostKeyTypes?: Array<'ed25519' | 'ecdsa' | 'rsa'>;
  /** Extra sshd_config lines (PermitOpen, LogLevel DEBUG1 …); they win over the defaults. */
  extraConfig?: string[];
  /** Listen on ::1 too (same port). */
  ipv6?: boolean;
}

export interface Sshd {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** The user tests log in as (the current one; root in CI). */
  readonly user: string;
  readonly dir: string;
  readonly hostKeys: readonly KeyPair[];
  /** known_hosts lines (plain `[127.0.0.1]:port type key`) for every host key. */
  knownHostsLines(): string[];
  /** sshd's log (stderr, LogLevel VERBOSE) since the last start. */
  log(): string;
  /** SIGKILLs the listener and every session process: the connection drops like a crash. */
  kill(): Promise<void>;
  /**
   * SIGSTOPs (or SIGCONTs) every sshd process: connections stay open but nothing answers,
   * like a server behind a dead network path.
   */
  freeze(): void;
  thaw(): void;
  /**
   * SIGKILLs the session processes (one per client connection) and leaves the listener up:
   * the connections drop as when a session is killed, while new ones are accepted.
   * Resolves to how many processes were killed.
   */
  killSessions(): number;
  /** Starts again on the same port with the same host keys. */
  start(): Promise<void>;
  /** kill() and remove the temp directory. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startSshd(options: SshdOptions): Promise<Sshd> {
  // sshd started as root refuses to run without its privilege-separation directory.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = await mkdtemp(join(tmpdir(), 'pgtunnel-sshd-'));
  const hostKeys: KeyPair[] = [];
  for (const type of options.hostKeyTypes ?? ['ed25519']) {
    hostKeys.push(await createKeyPair(dir, `ssh_host_${type}_key`, type));
  }
  const authorizedKeysFile = join(dir, 'authorized_keys');
  writeFileSync(authorizedKeysFile, `${options.authorizedKeys.join('\n')}\n`, { mode: 0o600 });
  const port = await freePort();
  const configFile = join(dir, 'sshd_config');
  writeFileSync(
    configFile,
    [
      // sshd keeps the first value it reads for a keyword, so these override what follows
      ...(options.extraConfig ?? []),
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      ...(options.ipv6 ? ['ListenAddress ::1'] : []),
      ...hostKeys.map((k) => `HostKey ${k.privateKeyFile}`),
      'PidFile none',
      'UsePAM no',
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      `AuthorizedKeysFile ${authorizedKeysFile}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'AllowTcpForwarding yes',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );

  let child: ChildProcess | undefined;
  let logText = '';

  const start = async () => {
    logText = '';
    const proc = spawn(SSHD, ['-D', '-e', '-f', configFile], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = proc;
    proc.stderr?.on('data', (chunk: Buffer) => {
      logText += chunk.toString();
    });
    // Until it listens or exits; a hang is the runner's per-file limit to catch.
    while (!logText.includes(`Server listening on 127.0.0.1 port ${port}.`)) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`sshd exited during start-up:\n${logText}`);
      }
      await delay(25);
    }
  };

  const kill = async () => {
    const proc = child;
    child = undefined;
    if (!proc?.pid || proc.exitCode !== null || proc.signalCode !== null) return;
    // Session processes are children of the listener in their own sessions (setsid), so
    // they are found by parent pid before the listener goes. The listener is stopped first:
    // a client reconnecting at once could otherwise get a fresh session forked between the
    // listing and the kill, which would outlive the "crash".
    await stopped(proc.pid);
    const pids = [...descendants(proc.pid), proc.pid];
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await once(proc, 'exit').catch(() => {});
  };

  const signalAll = (signal: NodeJS.Signals) => {
    const pid = child?.pid;
    if (!pid) return;
    for (const each of [pid, ...descendants(pid)]) {
      try {
        process.kill(each, signal);
      } catch {
        // already gone
      }
    }
  };

  try {
    await start();
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  const stop = async () => {
    await kill();
    await rm(dir, { recursive: true, force: true });
  };
  return {
    host: '127.0.0.1',
    port,
    user: userInfo().username,
    dir,
    hostKeys,
    knownHostsLines: () => hostKeys.map((k) => `[127.0.0.1]:${port} ${k.publicKey}`),
    log: () => logText,
    kill,
    freeze: () => signalAll('SIGSTOP'),
    killSessions: () => {
      const pid = child?.pid;
      if (!pid) return 0;
      let killed = 0;
      for (const each of descendants(pid)) {
        try {
          process.kill(each, 'SIGKILL');
          killed++;
        } catch {
          // already gone
        }
      }
      return killed;
    },
    thaw: () => signalAll('SIGCONT'),
    start,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** SIGSTOPs `pid` and waits until it is stopped (state T in /proc), so it forks no more. */
async function stopped(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGSTOP');
  } catch {
    return; // already gone
  }
  for (;;) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (/^[Tt]/.test(stat.slice(stat.lastIndexOf(')') + 2))) return;
    } catch {
      return;
    }
    await delay(5);
  }
}

/** Every process below `root`, children before parents' siblings (from /proc). */
function descendants(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …; comm may contain spaces and parentheses
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(entry), ppid);
    } catch {
      // the process ended while we looked
    }
  }
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const [child, parent] of parentOf) {
      if (parent === pid) {
        walk(child);
        found.push(child);
      }
    }
  };
  walk(root);
  return found;
}

/**
 * The usual scene of a tunnel test: a PostgreSQL, an sshd that accepts `key`, and a home whose
 * ~/.ssh holds the key as id_ed25519 and a known_hosts that trusts the sshd, so no flags are
 * needed for either.
 */
export interface SshScene {
  home: string;
  key: KeyPair;
  cluster: Cluster;
  sshd: Sshd;
  stop(): Promise<void>;
}

export async function startSshScene(name: string): Promise<SshScene> {
  const home = await mkdtemp(join(tmpdir(), `pgtunnel-${name}-`));
  await mkdir(join(home, '.ssh'), { mode: 0o700 });
  const key = await createKeyPair(join(home, '.ssh'), 'id_ed25519');
  const [cluster, sshd] = await Promise.all([
    startCluster(),
    startSshd({ authorizedKeys: [key.publicKey] }),
  ]);
  await writeFile(join(home, '.ssh', 'known_hosts'), `${sshd.knownHostsLines().join('\n')}\n`);
  return {
    home,
    key,
    cluster,
    sshd,
    async stop() {
      await Promise.all([sshd.stop(), cluster.stop()]);
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** A running `pgtunnel ssh` child process. */
export interface TunnelCli {
  /** Local ports from the "listening on" lines, in -L order. */
  readonly ports: number[];
  readonly process: ChildProcess;
  stdout(): string;
  stderr(): string;
  /**
   * Resolves when stderr (the JSON log) matches; rejects if the process ends first. With `from`
   * (an earlier `stderr().length`) only what was logged since then counts.
   */
  waitForLog(pattern: RegExp, from?: number): Promise<void>;
  /** SIGTERM; resolves to the exit code once it exits. */
  stop(): Promise<number | null>;
}

export interface CliEnvironment {
  /** HOME for the child (its ~/.ssh); a test's temp dir keeps the developer's files out. */
  home: string;
  env?: Record<string, string>;
  /** Run as this user and group instead (a non-root user, when the tests run as root). */
  uid?: number;
  gid?: number;
}

function cliEnv(environment: CliEnvironment): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: environment.home, LANG: 'C', ...environment.env };
}

const CLI = cliArgs(['ssh']);
const CWD = join(import.meta.dirname, '..', '..');

/** Starts `pgtunnel ssh ARGS` and waits for every "listening on" line (one per -L). */
export async function startTunnelCli(
  args: string[],
  environment: CliEnvironment,
  options: { forwards?: number } = {},
): Promise<TunnelCli> {
  const child = spawn(process.execPath, [...CLI, ...args], {
    cwd: CWD,
    env: cliEnv(environment),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  // Checked on every chunk of output; no deadline: what is awaited comes, or the child ends
  // first ('close' follows its last output). A hang is the runner's per-file limit to catch.
  const checks = new Set<() => void>();
  const recheck = () => {
    for (const check of [...checks]) check();
  };
  child.stdout?.on('data', recheck);
  child.stderr?.on('data', recheck);
  const closed = once(child, 'close');
  const waitFor = (test: () => boolean, what: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!test()) return;
        checks.delete(check);
        resolve();
      };
      checks.add(check);
      check();
      closed.then(() => {
        if (!checks.delete(check)) return;
        reject(
          new Error(
            `pgtunnel ssh exited (${child.exitCode ?? child.signalCode}) before ${what}:\n${out}\n${err}`,
          ),
        );
      });
    });
  const listening = () => [...out.matchAll(/listening on \S+:(\d+),/g)].map((m) => Number(m[1]));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
    return child.exitCode;
  };
  try {
    await waitFor(() => listening().length >= (options.forwards ?? 1), 'readiness line');
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    ports: listening(),
    process: child,
    stdout: () => out,
    stderr: () => err,
    waitForLog: (pattern, from = 0) =>
      waitFor(() => pattern.test(err.slice(from)), `log line ${pattern}`),
    stop,
  };
}

/** Runs `pgtunnel ssh ARGS` to completion (for commands expected to fail and exit). */
export function runTunnelCli(args: string[], environment: CliEnvironment) {
  return run(process.execPath, [...CLI, ...args], {
    cwd: CWD,
    env: cliEnv(environment),
    uid: environment.uid,
    gid: environment.gid,
  });
}
