// Runs the real stunnel4 (Debian's stunnel 5.x) for interoperability tests: a config file per
// instance in a temp dir, foreground mode, ready once its accept port answers.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { spawn } from './children.js';

export const STUNNEL_BINARY = '/usr/bin/stunnel4';

export interface StunnelService {
  /** stunnel's client mode: plaintext in, TLS out. */
  client: boolean;
  acceptPort: number;
  /** `host:port` to connect to. */
  connect: string;
  /** Other service options, e.g. { cert, key, CAfile, verifyChain: 'yes', checkHost }. */
  options?: Record<string, string>;
}

export interface Stunnel {
  /** The stunnel4 process, e.g. to read its CPU time from /proc. */
  pid: number;
  log(): string;
  stop(): Promise<void>;
}

export async function startStunnel(service: StunnelService): Promise<Stunnel> {
  if (!existsSync(STUNNEL_BINARY)) {
    throw new Error(`${STUNNEL_BINARY} not found: install the Debian package "stunnel4"`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'pgtunnel-stunnel-'));
  const config = [
    'foreground = yes',
    'pid =',
    'debug = info',
    '',
    '[service]',
    `client = ${service.client ? 'yes' : 'no'}`,
    `accept = 127.0.0.1:${service.acceptPort}`,
    `connect = ${service.connect}`,
    ...Object.entries(service.options ?? {}).map(([key, value]) => `${key} = ${value}`),
    '',
  ].join('\n');
  const file = join(dir, 'stunnel.conf');
  writeFileSync(file, config);
  const child: ChildProcess = spawn(STUNNEL_BINARY, [file], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // Until it listens or exits; a hang is the runner's per-file limit to catch.
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`stunnel4 exited during start-up:\n${output}\nconfig:\n${config}`);
    }
    if (await answers(service.acceptPort)) break;
    await delay(50);
  }
  return { pid: child.pid ?? 0, log: () => output, stop };
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect({ port, host: '127.0.0.1' });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}
