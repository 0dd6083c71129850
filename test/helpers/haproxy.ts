// Runs the real HAProxy (Debian's haproxy 2.6) in front of gateways: a config per instance in a
// temp dir, foreground mode, with an admin socket to read each server's health-check state.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Cluster } from './pg-cluster.js';
import type { TestPki } from './pki.js';
import { freePort } from './ports.js';

export const HAPROXY_BINARY = '/usr/sbin/haproxy';

export interface HaproxyServerState {
  backend: string;
  server: string;
  /** `UP`, `DOWN`, `MAINT`, `no check` … as HAProxy's `show stat` reports it. */
  status: string;
  checkStatus: string;
}

export interface Haproxy {
  dir: string;
  log(): string;
  /** Every backend server's state from the admin socket. */
  servers(): Promise<HaproxyServerState[]>;
  /** Waits until each listed `backend/server` reports `status`. */
  waitForServers(names: string[], status: string): Promise<void>;
  stop(): Promise<void>;
}

/** `sections` is the config after `global` and `defaults` (frontends, backends, listens). */
export async function startHaproxy(sections: string): Promise<Haproxy> {
  if (!existsSync(HAPROXY_BINARY)) {
    throw new Error(`${HAPROXY_BINARY} not found: install the Debian package "haproxy"`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'pgtunnel-haproxy-'));
  const socketPath = join(dir, 'admin.sock');
  const config = [
    'global',
    `  stats socket ${socketPath} mode 600 level admin`,
    '  log stderr format short local0 info',
    'defaults',
    '  mode tcp',
    '  log global',
    '  option tcplog',
    '  timeout connect 10s',
    '  timeout client 10m',
    '  timeout server 10m',
    '',
    sections,
    '',
  ].join('\n');
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, config);
  const child: ChildProcess = spawn(HAPROXY_BINARY, ['-db', '-f', file], {
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
  const servers = async (): Promise<HaproxyServerState[]> => {
    const csv = await adminCommand(socketPath, 'show stat');
    const [head, ...rows] = csv.split('\n').filter((line) => line.trim() !== '');
    const columns = (head ?? '').replace(/^# /, '').split(',');
    const at = (name: string) => columns.indexOf(name);
    return rows
      .map((row) => row.split(','))
      .filter((cells) => cells[at('svname')] !== 'FRONTEND' && cells[at('svname')] !== 'BACKEND')
      .map((cells) => ({
        backend: cells[at('pxname')] ?? '',
        server: cells[at('svname')] ?? '',
        status: cells[at('status')] ?? '',
        checkStatus: cells[at('check_status')] ?? '',
      }));
  };
  const haproxy: Haproxy = {
    dir,
    log: () => output,
    servers,
    async waitForServers(names, status) {
      for (;;) {
        if (child.exitCode !== null) throw new Error(`haproxy exited:\n${output}`);
        const states = await servers();
        const ready = names.every((name) =>
          states.some((s) => `${s.backend}/${s.server}` === name && s.status === status),
        );
        if (ready) return;
        await delay(100);
      }
    },
    stop,
  };
  // Ready once the admin socket answers (it is opened after the configuration is loaded).
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`haproxy exited during start-up:\n${output}\nconfig:\n${config}`);
    }
    if (existsSync(socketPath)) {
      try {
        await servers();
        break;
      } catch {
        // not answering yet
      }
    }
    await delay(50);
  }
  return haproxy;
}

function adminCommand(path: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path });
    let reply = '';
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString();
    });
    socket.once('error', reject);
    socket.once('end', () => resolve(reply));
    socket.once('connect', () => socket.end(`${command}\n`));
  });
}

/** A gateway's config file for a place behind HAProxy, and the ports it names. */
export interface GatewayBehindBalancer {
  config: string;
  port: number;
  adminPort: number;
}

/**
 * Writes `<dir>/<name>.conf` for a gateway behind HAProxy: TLS with the test PKI's server
 * certificate, PostgreSQL over its unix socket, `hbaFile`, the PROXY protocol trusted from
 * `trustedProxy` (HAProxy's source address), an admin endpoint and one worker; `extra` lines
 * follow.
 */
export async function writeGatewayBehindBalancer(options: {
  dir: string;
  name: string;
  pki: TestPki;
  cluster: Cluster;
  hbaFile: string;
  trustedProxy: string;
  extra?: string[];
}): Promise<GatewayBehindBalancer> {
  const { dir, name, pki, cluster } = options;
  const port = await freePort();
  const adminPort = await freePort();
  const config = join(dir, `${name}.conf`);
  writeFileSync(
    config,
    [
      `listen_addresses = '127.0.0.1'`,
      `port = ${port}`,
      `ssl_cert_file = '${pki.serverCert}'`,
      `ssl_key_file = '${pki.serverKey}'`,
      `upstream = 'host=${cluster.socketDir} port=${cluster.port} sslmode=disable'`,
      `hba_file = '${options.hbaFile}'`,
      `proxy_protocol = on`,
      `proxy_protocol_trusted = '${options.trustedProxy}'`,
      `admin_listen = '127.0.0.1:${adminPort}'`,
      `workers = 1`,
      ...(options.extra ?? []),
      '',
    ].join('\n'),
  );
  return { config, port, adminPort };
}
