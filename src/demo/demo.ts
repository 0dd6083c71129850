// The zero-configuration demo of `pgtunnel serve`: a throwaway PostgreSQL on a unix socket,
// a fresh CA and server certificate, and the settings that put the gateway in front of them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaStore } from '../ca/ca-store.js';
import type { Override } from '../config/load.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from './throwaway-postgres.js';

export interface Demo {
  overrides: Override[];
  rootCertFile: string;
  postgres: ThrowawayPostgres;
  cleanup(): Promise<void>;
}

export async function prepareDemo(): Promise<Demo> {
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
    ],
    rootCertFile,
    postgres,
    async cleanup() {
      await postgres.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
