// Runs `openssl s_client` once against the target for what Node cannot tell: the chain
// exactly as sent, and whether the server asks for a client certificate and from which CAs.
// `-starttls postgres` sends the SSLRequest; direct-TLS servers get ALPN `postgresql`.
import { execFile } from 'node:child_process';
import { parseSClientOutput, type SClientReport } from './openssl-output.js';
import type { ProbeContext, TlsRoute } from './probe-connection.js';

export const OPENSSL_BINARY = process.env.PGTUNNEL_OPENSSL ?? 'openssl';

export function sClientArguments(ctx: ProbeContext, route: TlsRoute): string[] {
  const { target } = ctx;
  const host = target.address.includes(':') ? `[${target.address}]` : target.address;
  const args = ['s_client', '-connect', `${host}:${target.port}`, '-showcerts'];
  if (route === 'sslrequest') args.push('-starttls', 'postgres');
  else args.push('-alpn', 'postgresql');
  if (target.servername) args.push('-servername', target.servername);
  else args.push('-noservername');
  return args;
}

/** The s_client report, or why there is none (openssl missing, timed out, failed). */
export function probeWithOpenssl(
  ctx: ProbeContext,
  route: TlsRoute,
): Promise<{ report: SClientReport } | { error: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      OPENSSL_BINARY,
      sClientArguments(ctx, route),
      { timeout: ctx.timeoutMs, maxBuffer: 4 << 20, env: { ...process.env, LANG: 'C' } },
      (error, stdout) => {
        const report = parseSClientOutput(String(stdout));
        if (report.handshakeCompleted) {
          resolve({ report });
          return;
        }
        const code = (error as { code?: unknown } | null)?.code;
        if (code === 'ENOENT')
          resolve({ error: `"${OPENSSL_BINARY}" was not found (install openssl)` });
        else if (error?.killed)
          resolve({ error: `openssl s_client did not finish within ${ctx.timeoutMs / 1000} s` });
        else resolve({ error: 'openssl s_client could not complete a handshake' });
      },
    );
    child.stdin?.end();
  });
}
