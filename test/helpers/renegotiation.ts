// Asks a TLS server for a client-initiated renegotiation the way testssl.sh and the outside audit
// did: `openssl s_client -tls1_2`, then `R` on its stdin once the first handshake is done. The
// answer is read from s_client's own output, never from a timer: a second handshake prints the
// server certificate's verification again; a refused one ends s_client with "no renegotiation".
// stdin stays open (s_client ignores its command letters under -ign_eof).
import { spawn } from './children.js';

export interface RenegotiationAttempt {
  /** The server went through a second handshake. */
  renegotiated: boolean;
  /** s_client's stdout and stderr. */
  output: string;
}

/** Depth-0 lines: one per verification of the server's leaf certificate, i.e. per handshake. */
const LEAF_VERIFIED = /^depth=0 /gm;

export function attemptRenegotiation(
  port: number,
  options: { caFile: string; starttls?: 'postgres' },
): Promise<RenegotiationAttempt> {
  const child = spawn(
    'openssl',
    [
      's_client',
      '-connect',
      `127.0.0.1:${port}`,
      '-tls1_2',
      '-CAfile',
      options.caFile,
      ...(options.starttls ? ['-starttls', options.starttls] : []),
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let output = '';
    let asked = false;
    let settled = false;
    const settle = (renegotiated: boolean) => {
      if (settled) return;
      settled = true;
      if (child.exitCode === null) child.kill('SIGKILL');
      resolve({ renegotiated, output });
    };
    const onOutput = (chunk: Buffer) => {
      output += chunk.toString();
      const handshakes = output.match(LEAF_VERIFIED)?.length ?? 0;
      if (!asked && /Verify return code/.test(output)) {
        asked = true;
        child.stdin.write('R\n');
      }
      if (asked && handshakes >= 2) settle(true);
    };
    child.stdout.on('data', onOutput);
    child.stderr.on('data', onOutput);
    child.stdin.on('error', () => {});
    child.on('error', reject);
    child.on('close', () => {
      if (!asked) reject(new Error(`s_client ended before the first handshake:\n${output}`));
      else settle((output.match(LEAF_VERIFIED)?.length ?? 0) >= 2);
    });
  });
}
