// The zero-configuration demo of `pgtunnel serve`: a throwaway PostgreSQL on a unix socket,
// a fresh CA and server certificate, and the settings that put the gateway in front of them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaStore } from '../ca/ca-store.js';
import type { Override } from '../config/load.js';
import { isPortFree, pickFreePort } from '../net/free-port.js';
import { demoBanner } from './demo-banner.js';
import { probeDemo } from './demo-probe.js';
import { findPsql, psqlMissingHint } from './psql-hint.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from './throwaway-postgres.js';

export interface Demo {
  overrides: Override[];
  rootCertFile: string;
  postgres: ThrowawayPostgres;
  /** Why the demo listens elsewhere than asked, when 6432 was taken. */
  portNote: string | undefined;
  /** Once listening: checks a verify-full session through the gateway; the text to print. */
  banner(addresses: string[], port: number): Promise<string>;
  cleanup(): Promise<void>;
}

/** PgBouncer's default port, and pgtunnel's. */
const DEFAULT_PORT = 6432;

/**
 * With no port given, 6432 if it is free, else a free one (6432 is often PgBouncer's): the demo
 * should start, and say where.
 */
async function choosePort(portGiven: boolean): Promise<{ port?: number; note?: string }> {
  if (portGiven || (await isPortFree(DEFAULT_PORT))) return {};
  const port = await pickFreePort();
  return {
    port,
    note: `Port ${DEFAULT_PORT} is in use (PgBouncer's default port), so the demo listens on ${port}; choose one with \`npm start -- -p PORT\` (or \`pgtunnel serve -p PORT\`).`,
  };
}

export async function prepareDemo(options: { portGiven?: boolean } = {}): Promise<Demo> {
  const chosen = await choosePort(options.portGiven ?? false);
  const dir = await mkdtemp(join(tmpdir(), 'pgtunnel-demo-'));
  const ca = new CaStore(join(dir, 'ca'));
  await ca.init({ commonName: 'pgtunnel demo Root CA' });
  await ca.createIntermediate({ commonName: 'pgtunnel demo Intermediate CA' });
  const certFile = join(dir, 'server.crt');
  const keyFile = join(dir, 'server.key');
  const rootCertFile = join(dir, 'root.crt');
  await ca.issue({
    kind: 'server',
    commonName: 'localhost',
    sans: ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1'],
    certFile,
    keyFile,
    rootFile: rootCertFile,
  });
  let postgres: ThrowawayPostgres;
  try {
    postgres = await startThrowawayPostgres();
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const origin = 'demo';
  return {
    overrides: [
      { name: 'ssl_cert_file', value: certFile, origin },
      { name: 'ssl_key_file', value: keyFile, origin },
      {
        name: 'upstream',
        value: `host=${postgres.socketDir} port=${postgres.port} sslmode=disable`,
        origin,
      },
      { name: 'workers', value: '1', origin },
      ...(chosen.port ? [{ name: 'port', value: String(chosen.port), origin }] : []),
    ],
    rootCertFile,
    postgres,
    portNote: chosen.note,
    async banner(addresses, port) {
      const conninfo = `host=localhost port=${port} user=postgres dbname=postgres sslmode=verify-full sslrootcert=${rootCertFile}`;
      const probe = await probeDemo(conninfo).catch((error: unknown) => error as Error);
      return demoBanner({
        addresses,
        conninfo,
        version: postgres.version,
        probe,
        portNote: chosen.note,
        psql: findPsql(),
        psqlHint: psqlMissingHint(),
      });
    },
    async cleanup() {
      await postgres.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
