// `pgtunnel serve --check`: after the configuration and every file it names have loaded, try
// the upstream as a client session would (unless --skip-upstream), and say what was checked
// and what was not, so "configuration OK" is not read as more than it is.
import type { LoadedConfig } from '../../config/load.js';
import { describeError } from '../../errors.js';
import { upstreamTargets } from '../../gateway/upstream-target.js';
import { probeUpstream } from '../../libpq/upstream-probe.js';

const PROBE_TIMEOUT_MS = 15_000;

/** The lines to print and whether everything that was tried worked. */
export async function checkServe(
  config: LoadedConfig,
  options: { raw: boolean; skipUpstream: boolean },
): Promise<{ ok: boolean; lines: string[] }> {
  const { settings } = config;
  const files = [
    config.configFile && `configuration file ${config.configFile}`,
    settings.ssl && `certificate ${settings.ssl_cert_file} and key ${settings.ssl_key_file}`,
    settings.ssl_ca_file && `client CA ${settings.ssl_ca_file}`,
    settings.ssl_crl_file && `CRL ${settings.ssl_crl_file}`,
    !options.raw && settings.hba_file && `rules ${settings.hba_file}`,
  ].filter((item): item is string => Boolean(item));
  const lines = [`checked: settings${files.length ? `, ${files.join(', ')}` : ''}`];
  const notChecked = [
    'whether the listen addresses are free (they are bound at start)',
    'client logins (the server authenticates each session)',
  ];
  let ok = true;
  if (options.raw) {
    notChecked.unshift('the upstream (raw mode forwards bytes; it is dialled per connection)');
  } else if (options.skipUpstream) {
    notChecked.unshift('the upstream (--skip-upstream)');
  } else {
    try {
      const reached = await probeUpstream(upstreamTargets(settings.upstream), {
        user: 'pgtunnel_check',
        // a host that drops packets would otherwise hold the check for the kernel's timeout
        signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
      });
      lines.push(`checked: upstream ${reached} answered as PostgreSQL (no login attempted)`);
    } catch (error) {
      ok = false;
      const reason =
        error instanceof Error && error.name === 'TimeoutError'
          ? `no answer within ${PROBE_TIMEOUT_MS / 1000} s`
          : describeError(error);
      lines.push(`FAILED: upstream could not be reached: ${reason}`);
      lines.push('  (give --skip-upstream to check only the files, e.g. before the server is up)');
    }
  }
  for (const item of notChecked) lines.push(`not checked: ${item}`);
  return { ok, lines };
}
