// `pgtunnel serve --check`: after the configuration and every file it names have loaded, try
// the upstream as a client session would (unless --skip-upstream), and say what was checked
// and what was not, so "configuration OK" is not read as more than it is.
import type { LoadedConfig } from '../../config/load.js';
import { describeError } from '../../errors.js';
import type { RouteSnapshot, RoutesSnapshot } from '../../gateway/routes/route-snapshot.js';
import { upstreamTargets } from '../../gateway/upstream-target.js';
import { probeUpstream } from '../../libpq/upstream-probe.js';

const PROBE_TIMEOUT_MS = 15_000;

/** The lines to print and whether everything that was tried worked. */
export async function checkServe(
  config: LoadedConfig,
  options: { raw: boolean; skipUpstream: boolean; routes?: RoutesSnapshot | undefined },
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
  }
  const routes = options.routes?.routes ?? [];
  if (options.routes) {
    lines.push(`checked: routes file ${options.routes.file} (${routes.length} routes)`);
    for (const route of routes) lines.push(`checked: ${describeRoute(route)}`);
  }
  if (!options.raw && !options.skipUpstream) {
    const upstreams = [
      { label: 'upstream', conninfo: settings.upstream },
      ...routes
        .filter((route) => route.settings.upstream !== settings.upstream)
        .map((route) => ({
          label: `route [${route.name}] upstream`,
          conninfo: route.settings.upstream,
        })),
    ];
    for (const { label, conninfo } of upstreams) {
      try {
        const reached = await probeUpstream(upstreamTargets(conninfo), {
          user: 'pgtunnel_check',
          // a host that drops packets would otherwise hold the check for the kernel's timeout
          signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
        });
        lines.push(`checked: ${label} ${reached} answered as PostgreSQL (no login attempted)`);
      } catch (error) {
        ok = false;
        const reason =
          error instanceof Error && error.name === 'TimeoutError'
            ? `no answer within ${PROBE_TIMEOUT_MS / 1000} s`
            : describeError(error);
        lines.push(`FAILED: ${label} could not be reached: ${reason}`);
        lines.push(
          '  (give --skip-upstream to check only the files, e.g. before the server is up)',
        );
      }
    }
  }
  for (const item of notChecked) lines.push(`not checked: ${item}`);
  return { ok, lines };
}

/** One route as --check reports it: what chooses it and what it brings of its own. */
function describeRoute(route: RouteSnapshot): string {
  const chosenBy = [
    route.serverNames.length > 0 && `server_name ${route.serverNames.join(', ')}`,
    route.databases.length > 0 && `database ${route.databases.join(', ')}`,
  ].filter(Boolean);
  const own = [
    route.tls &&
      `certificate ${route.settings.ssl_cert_file} and key ${route.settings.ssl_key_file}`,
    route.ownClientTrust && route.settings.ssl_ca_file && `client CA ${route.settings.ssl_ca_file}`,
    route.hba && `rules ${route.settings.hba_file}`,
  ].filter(Boolean);
  return `route [${route.name}] (${route.location}) for ${chosenBy.join(' and ')}${own.length > 0 ? `, with its ${own.join(', ')}` : ''}`;
}
