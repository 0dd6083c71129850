// Builds the effective settings: defaults < config file < command-line overrides.
// Every value is parsed and checked before anything binds a port; errors name the file and
// line (or the flag) and say what is expected.
import { dirname, resolve } from 'node:path';
import { ConfigError, describeError } from '../errors.js';
import { type ConfEntry, parseConf } from './conf-file.js';
import { diskFiles, type FileSource, recording } from './file-source.js';
import { isSettingName, SETTINGS, type SettingName, type Settings } from './settings.js';

/** Where a setting's value came from, for error messages and `pgtunnel serve --describe`. */
export interface SettingSource {
  origin: 'default' | 'file' | 'command line';
  /** `file:line` or the flag, e.g. `--port`. */
  location?: string;
}

export interface Override {
  name: string;
  value: string;
  /** How the user gave it, e.g. `-c port=5433` or `--ssl-cert-file`. */
  origin: string;
}

export interface LoadedConfig {
  settings: Settings;
  sources: Map<SettingName, SettingSource>;
  configFile: string | undefined;
  /** Files and directories the configuration file pulled in with include / include_dir. */
  includes: { files: string[]; directories: string[] };
}

export function loadConfig(options: {
  configFile?: string | undefined;
  overrides?: Override[];
  cwd?: string;
  /** Where files are read from; the disk by default. */
  files?: FileSource;
}): LoadedConfig {
  const cwd = options.cwd ?? process.cwd();
  const raw = new Map<SettingName, { value: string; source: SettingSource; baseDir: string }>();
  const configFile = options.configFile ? resolve(cwd, options.configFile) : undefined;
  let includes: LoadedConfig['includes'] = { files: [], directories: [] };

  if (configFile) {
    const files = options.files ?? diskFiles;
    let text: string;
    try {
      text = files.readFile(configFile);
    } catch (error) {
      throw new ConfigError(
        'ERR_CONFIG_FILE',
        `could not open configuration file "${configFile}": ${
          (error as NodeJS.ErrnoException).code === 'ENOENT'
            ? 'No such file or directory'
            : (error as Error).message
        }`,
        { cause: error },
      );
    }
    const included = recording(files);
    const entries = parseConf(text, configFile, included.source);
    includes = { files: included.read.files, directories: included.read.directories };
    for (const entry of entries) {
      const location = `${entry.file}:${entry.line}`;
      if (!isSettingName(entry.name)) throw unknownSetting(entry, location);
      raw.set(entry.name, {
        value: entry.value,
        source: { origin: 'file', location },
        baseDir: dirname(entry.file),
      });
    }
  }
  for (const override of options.overrides ?? []) {
    const name = override.name.toLowerCase().replaceAll('-', '_');
    if (!isSettingName(name)) {
      throw new ConfigError(
        'ERR_CONFIG_UNKNOWN_KEY',
        `unrecognized configuration parameter "${override.name}" (given as ${override.origin})`,
      );
    }
    raw.set(name, {
      value: override.value,
      source: { origin: 'command line', location: override.origin },
      baseDir: cwd,
    });
  }

  const settings = {} as Record<SettingName, unknown>;
  const sources = new Map<SettingName, SettingSource>();
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const definition = SETTINGS[name];
    const given = raw.get(name);
    const text = given?.value ?? definition.default;
    let value: unknown;
    try {
      value = definition.parse(text);
    } catch (error) {
      const where = given?.source.location;
      throw new ConfigError(
        'ERR_CONFIG_INVALID',
        `invalid value for parameter "${name}": "${text}": ${describeError(error)}`,
        { location: given?.source.origin === 'file' ? where : undefined },
      );
    }
    if ('isPath' in definition && definition.isPath && typeof value === 'string' && value !== '') {
      value = resolve(given?.baseDir ?? (configFile ? dirname(configFile) : cwd), value);
    }
    settings[name] = value;
    sources.set(name, given?.source ?? { origin: 'default' });
  }
  const result: LoadedConfig = { settings: settings as Settings, sources, configFile, includes };
  validate(result);
  return result;
}

function unknownSetting(entry: ConfEntry, location: string): ConfigError {
  return new ConfigError(
    'ERR_CONFIG_UNKNOWN_KEY',
    `unrecognized configuration parameter "${entry.name}"`,
    { location },
  );
}

/** Checks that span several settings. */
function validate(config: LoadedConfig): void {
  const { settings, sources } = config;
  const where = (name: SettingName) => {
    const source = sources.get(name);
    return source?.origin === 'file' ? source.location : undefined;
  };
  const order = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
  if (
    settings.ssl_max_protocol_version !== '' &&
    order.indexOf(settings.ssl_max_protocol_version) <
      order.indexOf(settings.ssl_min_protocol_version)
  ) {
    throw new ConfigError(
      'ERR_CONFIG_CONFLICT',
      `ssl_max_protocol_version (${settings.ssl_max_protocol_version}) is older than ssl_min_protocol_version (${settings.ssl_min_protocol_version})`,
      { location: where('ssl_max_protocol_version') },
    );
  }
  if (settings.ident_file !== '' && settings.hba_file === '') {
    throw new ConfigError(
      'ERR_CONFIG_CONFLICT',
      'ident_file is set but hba_file is not: maps are used only by hba_file rules',
      {
        location: where('ident_file'),
      },
    );
  }
  if (settings.proxy_protocol !== 'off' && settings.proxy_protocol_trusted.length === 0) {
    throw new ConfigError(
      'ERR_CONFIG_MISSING',
      `proxy_protocol is ${settings.proxy_protocol} but proxy_protocol_trusted is empty: list the balancers' addresses, or every PROXY header is refused`,
      { location: where('proxy_protocol') },
    );
  }
  if (settings.listen_addresses.length === 0 && settings.unix_socket_directories.length === 0) {
    throw new ConfigError(
      'ERR_CONFIG_MISSING',
      'nothing to listen on: set listen_addresses or unix_socket_directories',
      { location: where('listen_addresses') },
    );
  }
}
