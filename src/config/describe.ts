// Renders the settings table as user documentation: the Markdown reference in
// docs/configuration.md and the commented sample etc/pgtunnel.conf.sample. A unit test keeps
// both files equal to what this renders, so docs cannot drift from the code.
import { ROUTE_MATCH_KEYS, ROUTE_SETTINGS } from './routes-file-keys.js';
import { SETTINGS, type SettingName } from './settings.js';

const names = () => Object.keys(SETTINGS) as SettingName[];

function quoted(value: string): string {
  return /^[A-Za-z0-9_.]+$/.test(value) && value !== ''
    ? value
    : `'${value.replaceAll("'", "''")}'`;
}

export function renderSettingsMarkdown(): string {
  const rows = names().map((name) => {
    const setting = SETTINGS[name];
    const flag = `--${name.replaceAll('_', '-')}`;
    return `| \`${name}\` | \`${quoted(setting.default)}\` | ${setting.context} | \`${flag}\` | ${setting.description.replaceAll('|', '\\|')} |`;
  });
  return [
    '# Configuration reference for `pgtunnel serve`',
    '',
    'Settings use the names and syntax of `postgresql.conf`: `name = value`, `#` comments, quoted',
    "strings with `''` for a quote, units for times (`30s`, `500ms`, `2min`), booleans as",
    '`on`/`off`/`true`/`false`, and `include`, `include_if_exists`, `include_dir`. The last value of a',
    'setting wins. Relative paths are relative to the file that sets them (to the working directory',
    'for flags).',
    '',
    'Precedence: built-in default < configuration file (`-f FILE` or `PGTUNNEL_CONFIG`) < command line',
    '(`-c name=value` or `--name value`). Errors name the file and line or the flag, and the server',
    'refuses to start (exit status 3).',
    '',
    '*Context* `reload` means `SIGHUP` / `pgtunnel reload` applies a change to new connections (open',
    'sessions keep what they started with); `restart` means the change waits for a restart, and a',
    'reload logs a warning instead of silently ignoring it.',
    '',
    '| setting | default | context | flag | description |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    'Short flags, as for `postgres`: `-h` listen_addresses, `-p` port, `-k` unix_socket_directories,',
    '`-N` max_connections, `-c name=value` for any setting.',
    '',
    ...renderRoutesFileMarkdown(),
  ].join('\n');
}

/** The keys of a routes_file section (docs/serve.md, "Routes", explains the choice). */
function renderRoutesFileMarkdown(): string[] {
  return [
    '## Routes file (`routes_file`)',
    '',
    'One `[name]` section per route, `key = value` lines, `#` or `;` comments; values are written as',
    "in this file (quoted with `'…'`, or a bare word). Relative paths are relative to the routes file.",
    'A route needs `server_name`, `database` or both; a server name or database in two routes is an',
    'error, as is any other key. What a route does not set comes from the main configuration. The',
    'name `default` is reserved: logs, `/status` and metrics call the main configuration so. How a',
    'connection chooses its route, with an example: [serve.md](serve.md#routes).',
    '',
    '| key | meaning |',
    '|---|---|',
    ...Object.entries(ROUTE_MATCH_KEYS).map(
      ([key, meaning]) => `| \`${key}\` | ${meaning.replaceAll('|', '\\|')} |`,
    ),
    ...ROUTE_SETTINGS.map((name) => `| \`${name}\` | as \`${name}\` above, for this route |`),
    '',
  ];
}

export function renderSampleConfig(): string {
  const lines = [
    '# pgtunnel serve: sample configuration (postgresql.conf syntax).',
    '# Every setting is listed with its default; uncomment and change what you need.',
    '',
  ];
  for (const name of names()) {
    const setting = SETTINGS[name];
    lines.push(`# ${setting.description}`);
    lines.push(
      `#${name} = ${quoted(setting.default)}${setting.context === 'restart' ? '\t\t# (change requires restart)' : ''}`,
    );
    lines.push('');
  }
  return lines.join('\n');
}

/** docs/errors.md: every internal error code with what it means (codes are public API). */
export function renderErrorCodesMarkdown(codes: Readonly<Record<string, string>>): string {
  return [
    '# Error codes',
    '',
    'Every error pgtunnel reports about itself (a bad configuration, a certificate that does not',
    'load, an SSH host key that does not match …) carries one of these stable codes in its logs',
    '(`err` field) and in the text the commands print. Clients of `pgtunnel serve` never see these',
    'codes: they receive PostgreSQL ErrorResponses with PostgreSQL SQLSTATEs instead (see',
    '[serve.md](serve.md)).',
    '',
    'Exit status: 0 success, 1 failure, 2 command-line usage error, 3 configuration error',
    '(configuration, hba and ident files).',
    '',
    '| code | meaning |',
    '|---|---|',
    ...Object.entries(codes).map(([code, meaning]) => `| \`${code}\` | ${meaning} |`),
    '',
  ].join('\n');
}
