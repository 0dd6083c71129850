// The routes_file: one [name] section per route, holding the keys that choose the route
// (server_name, database) and the main file's own setting names for what the route changes
// (ssl_cert_file, hba_file, upstream …). Values are written as in postgresql.conf (quoted or
// a bare word). Pure: text in, checked definitions out, errors with file:line.
import { dirname, isAbsolute, resolve } from 'node:path';
import { readValue } from '../../config/conf-file.js';
import { parseIniSections } from '../../config/ini-sections.js';
import { ROUTE_SETTINGS, type RouteSettingName } from '../../config/routes-file-keys.js';
import { SETTINGS, type Settings } from '../../config/settings.js';
import { ConfigError, describeError } from '../../errors.js';
import { parseServerNamePattern } from './server-name.js';

export { ROUTE_SETTINGS, type RouteSettingName };

/** The settings that make a route serve TLS its own way (its own secure context). */
export const ROUTE_TLS_SETTINGS = [
  'ssl_cert_file',
  'ssl_key_file',
  'ssl_ca_file',
  'ssl_crl_file',
  'ssl_crl_dir',
] as const satisfies readonly RouteSettingName[];

/** The settings that change how client certificates are checked. */
export const ROUTE_TRUST_SETTINGS = [
  'ssl_ca_file',
  'ssl_crl_file',
  'ssl_crl_dir',
] as const satisfies readonly RouteSettingName[];

export interface RouteDefinition {
  name: string;
  /** file:line of the `[name]` header. */
  location: string;
  /** Normalized server_name patterns. */
  serverNames: string[];
  databases: string[];
  /** What the route sets, parsed (paths absolute); anything else comes from the main file. */
  settings: Partial<Pick<Settings, RouteSettingName>>;
  /** file:line of each key the route sets. */
  locations: Partial<Record<RouteSettingName | 'server_name' | 'database', string>>;
}

const ROUTE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
/** Names /status, logs and metrics use for connections that took no route of the file. */
export const DEFAULT_ROUTE_NAME = 'default';

const isRouteSetting = (key: string): key is RouteSettingName =>
  (ROUTE_SETTINGS as readonly string[]).includes(key);

/** Parses and checks the routes file `fileName` whose contents are `text`. */
export function parseRoutesFile(text: string, fileName: string): RouteDefinition[] {
  const ini = parseIniSections(text, fileName, 'route');
  const first = ini.global[0];
  if (first) {
    throw new ConfigError(
      'ERR_CONFIG_PLACEMENT',
      `"${first.key}" stands before the first [route] section: settings for every route belong in the main configuration file`,
      { location: first.location },
    );
  }
  const routes = ini.sections.map((section) => {
    if (!ROUTE_NAME.test(section.name) || section.name === DEFAULT_ROUTE_NAME) {
      throw new ConfigError(
        'ERR_CONFIG_INVALID',
        section.name === DEFAULT_ROUTE_NAME
          ? `[${DEFAULT_ROUTE_NAME}] is the name of the main configuration's route: choose another`
          : `route name "${section.name}" may hold only letters, digits, "_", "." and "-"`,
        { location: section.location },
      );
    }
    const route: RouteDefinition = {
      name: section.name,
      location: section.location,
      serverNames: [],
      databases: [],
      settings: {},
      locations: {},
    };
    for (const entry of section.entries) {
      const { key, location } = entry;
      const value = unquote(entry.value, location);
      const earlier = route.locations[key as keyof RouteDefinition['locations']];
      if (earlier) {
        throw new ConfigError(
          'ERR_CONFIG_CONFLICT',
          `"${key}" is set twice in route [${route.name}] (first at ${earlier})`,
          { location },
        );
      }
      if (key === 'server_name' || key === 'database') {
        route.locations[key] = location;
        const items = splitList(value);
        if (items.length === 0) {
          throw new ConfigError('ERR_CONFIG_INVALID', `${key} is empty`, { location });
        }
        if (key === 'database') route.databases = unique(items);
        else route.serverNames = unique(items.map((item) => serverNamePattern(item, location)));
        continue;
      }
      if (!isRouteSetting(key)) {
        throw new ConfigError(
          'ERR_CONFIG_UNKNOWN_KEY',
          Object.hasOwn(SETTINGS, key)
            ? `"${key}" cannot be set per route: set it in the main configuration file (a route may set server_name, database, ${ROUTE_SETTINGS.join(', ')})`
            : `unrecognized route parameter "${key}" (a route may set server_name, database, ${ROUTE_SETTINGS.join(', ')})`,
          { location },
        );
      }
      route.locations[key] = location;
      const definition = SETTINGS[key];
      let parsed: unknown;
      try {
        parsed = definition.parse(value);
      } catch (error) {
        throw new ConfigError(
          'ERR_CONFIG_INVALID',
          `invalid value for parameter "${key}": "${value}": ${describeError(error)}`,
          { location },
        );
      }
      if ('isPath' in definition && definition.isPath && typeof parsed === 'string' && parsed) {
        parsed = isAbsolute(parsed) ? parsed : resolve(dirname(fileName), parsed);
      }
      (route.settings as Record<string, unknown>)[key] = parsed;
    }
    if (route.serverNames.length === 0 && route.databases.length === 0) {
      throw new ConfigError(
        'ERR_CONFIG_MISSING',
        `route [${route.name}] matches nothing: give it server_name, database or both`,
        { location: route.location },
      );
    }
    return route;
  });
  refuseOverlaps(routes, 'server_name', (route) => route.serverNames);
  refuseOverlaps(routes, 'database', (route) => route.databases);
  return routes;
}

/** A server name or database claimed by two routes makes the choice ambiguous: a load error. */
function refuseOverlaps(
  routes: RouteDefinition[],
  key: 'server_name' | 'database',
  items: (route: RouteDefinition) => string[],
): void {
  const owner = new Map<string, RouteDefinition>();
  for (const route of routes) {
    for (const item of items(route)) {
      const other = owner.get(item);
      if (other) {
        throw new ConfigError(
          'ERR_CONFIG_CONFLICT',
          `${key} "${item}" is in route [${other.name}] (${other.locations[key]}) and in route [${route.name}]: each must lead to one route`,
          { location: route.locations[key] },
        );
      }
      owner.set(item, route);
    }
  }
}

function serverNamePattern(item: string, location: string): string {
  try {
    return parseServerNamePattern(item);
  } catch (error) {
    throw new ConfigError('ERR_CONFIG_INVALID', `invalid server_name: ${describeError(error)}`, {
      location,
    });
  }
}

function unquote(text: string, location: string): string {
  if (!text.startsWith("'")) return text;
  const { value, remainder } = readValue(text, location);
  const trailing = remainder.trim();
  if (trailing !== '' && !trailing.startsWith('#')) {
    throw new ConfigError('ERR_CONFIG_SYNTAX', `syntax error near "${trailing.slice(0, 20)}"`, {
      location,
    });
  }
  return value;
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function unique(items: string[]): string[] {
  return [...new Set(items)];
}

/** Whether `route` sets a setting of `names` itself. */
export function routeSets(route: RouteDefinition, names: readonly RouteSettingName[]): boolean {
  return names.some((name) => Object.hasOwn(route.settings, name));
}
