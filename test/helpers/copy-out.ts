// COPY … TO STDOUT through psql, the data discarded: the bulk workload of the benchmark and of
// the tests that count a relay's system calls per MB.
import { clientBinary, embeddedPostgres } from '../../src/demo/postgres-binaries.js';
import { spawn } from './children.js';

/** The COPY statement producing about `megabytes` MB (1 kB rows). */
export function copySql(megabytes: number): string {
  const rows = Math.round((megabytes * 1e6) / 1001);
  return `COPY (SELECT repeat('x', 1000) FROM generate_series(1, ${rows})) TO STDOUT`;
}

/** Runs psql COPY … TO STDOUT, discarding the data; returns bytes and MB/s. */
export function copyOut(
  conninfo: string,
  sql: string,
  libpq?: '18',
): Promise<{ bytes: number; mbPerSecond: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(clientBinary('psql'), ['-X', '-q', '-d', conninfo, '-c', sql], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // libpq 18 for sslnegotiation=direct (a reference that only speaks direct TLS)
      ...(libpq
        ? { env: { ...process.env, LD_LIBRARY_PATH: embeddedPostgres().libDir ?? '' } }
        : {}),
    });
    let bytes = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`psql COPY failed: ${stderr}`));
        return;
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      resolve({ bytes, mbPerSecond: bytes / 1e6 / seconds });
    });
  });
}
