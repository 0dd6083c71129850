// Loads the routes of routes_file as part of a configuration snapshot: each route's settings
// (the main ones with the route's own on top), its TLS material and hba/ident rules read and
// checked now, as contents — so that workers build the same routes without touching the disk,
// and a reload applies every route or none.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TlsOptions } from 'node:tls';
import type { FileSource } from '../../config/file-source.js';
import { serverTlsConfig } from '../../config/gateway-options.js';
import type { Settings } from '../../config/settings.js';
import { ConfigError, describeError } from '../../errors.js';
import { type LoadedHba, loadHba } from '../../hba/load.js';
import { type CertificateEntry, certificateInventory } from '../../tls/certificate-inventory.js';
import { loadServerTls } from '../../tls/server-tls.js';
import { upstreamTargets } from '../upstream-target.js';
import {
  parseRoutesFile,
  ROUTE_TLS_SETTINGS,
  ROUTE_TRUST_SETTINGS,
  type RouteDefinition,
  type RouteSettingName,
  routeSets,
} from './route-file.js';

export interface RouteSnapshot {
  name: string;
  /** file:line of its `[name]` header. */
  location: string;
  serverNames: string[];
  databases: string[];
  /** The main settings with the route's own on top. */
  settings: Settings;
  /** The route's own server TLS options; none when it sets no ssl_* file (it shares the main ones). */
  tls: TlsOptions | undefined;
  /** The main rules apply: the route sets neither hba_file nor ident_file. */
  inheritsRules: boolean;
  /** The route's own rules; none with inheritsRules, or with hba_file = '' (the built-in rules). */
  hba: LoadedHba | undefined;
  /** Client certificates are checked with the route's own CA or CRLs. */
  ownClientTrust: boolean;
  /** The route's own certificate, CAs and CRLs (metrics, console). */
  certificates: CertificateEntry[];
}

export interface RoutesSnapshot {
  file: string;
  routes: RouteSnapshot[];
  /** Problems worth a log line after loading (a certificate not valid for its route's names). */
  warnings: string[];
}

/** Files a routes load read, for watch_files. */
export interface RouteFiles {
  files: Set<string>;
  directories: Set<string>;
}

/**
 * Reads routes_file and everything its routes name. Throws ConfigError naming the route and its
 * file:line on the first problem.
 */
export async function loadRoutes(
  main: Settings,
  context: { isReload: boolean },
  reader: FileSource,
  seen: RouteFiles,
): Promise<RoutesSnapshot | undefined> {
  const file = main.routes_file;
  if (file === '') return undefined;
  seen.files.add(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(
      'ERR_CONFIG_FILE',
      `could not open routes file "${file}": ${describeError(error)}`,
    );
  }
  const definitions = parseRoutesFile(text, file);
  const routes: RouteSnapshot[] = [];
  const warnings: string[] = [];
  for (const definition of definitions) {
    try {
      routes.push(await loadRoute(definition, main, context, reader, seen));
    } catch (error) {
      if (error instanceof ConfigError && error.location) throw error;
      throw new ConfigError(
        error instanceof ConfigError ? error.code : 'ERR_CONFIG_INVALID',
        `route [${definition.name}]: ${describeError(error)}`,
        { location: definition.location, cause: error },
      );
    }
  }
  for (const route of routes) warnings.push(...nameWarnings(route, main));
  return { file, routes, warnings };
}

/**
 * A route's server names its certificate is not valid for: libpq's verify-full would refuse
 * the connection, so it is said at load time rather than by every client.
 */
function nameWarnings(route: RouteSnapshot, main: Settings): string[] {
  const file = route.tls ? route.settings.ssl_cert_file : main.ssl_cert_file;
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(readFileSync(file));
  } catch {
    return []; // already loaded and checked; nothing to add
  }
  return route.serverNames
    .filter((name) => {
      // A wildcard pattern is checked with one label in place of the `*`.
      const sample = name.startsWith('*.') ? `pgtunnel-route-check${name.slice(1)}` : name;
      return certificate.checkHost(sample) === undefined;
    })
    .map(
      (name) =>
        `${route.location}: route [${route.name}]: the certificate "${file}" is not valid for server name "${name}": libpq clients with sslmode=verify-full will refuse it`,
    );
}

async function loadRoute(
  definition: RouteDefinition,
  main: Settings,
  context: { isReload: boolean },
  reader: FileSource,
  seen: RouteFiles,
): Promise<RouteSnapshot> {
  const settings: Settings = { ...main, ...definition.settings };
  const setsOwn = (names: readonly RouteSettingName[]) => routeSets(definition, names);
  const ownTls = setsOwn(ROUTE_TLS_SETTINGS);
  if (!main.ssl && (ownTls || definition.serverNames.length > 0)) {
    throw new ConfigError(
      'ERR_CONFIG_CONFLICT',
      definition.serverNames.length > 0
        ? 'server_name needs ssl = on: clients send their server name in the TLS handshake'
        : 'ssl_* files need ssl = on',
      { location: definition.locations.server_name ?? definition.location },
    );
  }
  for (const name of ROUTE_TLS_SETTINGS) {
    if (ownTls && settings[name] !== '') seen.files.add(settings[name]);
  }
  if (ownTls && settings.ssl_crl_dir !== '') {
    seen.files.delete(settings.ssl_crl_dir);
    seen.directories.add(settings.ssl_crl_dir);
  }
  const tls = ownTls ? loadServerTls(serverTlsConfig(settings), context) : undefined;
  if (Object.hasOwn(definition.settings, 'upstream')) {
    try {
      upstreamTargets(settings.upstream);
    } catch (error) {
      throw new ConfigError('ERR_CONFIG_INVALID', describeError(error), {
        location: definition.locations.upstream,
      });
    }
  }
  const ownRules = setsOwn(['hba_file', 'ident_file']);
  if (ownRules && settings.ident_file !== '' && settings.hba_file === '') {
    throw new ConfigError(
      'ERR_CONFIG_CONFLICT',
      'ident_file is set but hba_file is not: maps are used only by hba_file rules',
      { location: definition.locations.ident_file },
    );
  }
  const hba =
    ownRules && settings.hba_file !== ''
      ? await loadHba(
          settings.hba_file,
          settings.ident_file === '' ? undefined : settings.ident_file,
          { ssl: settings.ssl, clientCertificates: settings.ssl && settings.ssl_ca_file !== '' },
          reader,
        )
      : undefined;
  if (hba) {
    seen.files.add(settings.hba_file);
    if (settings.ident_file !== '') seen.files.add(settings.ident_file);
  }
  return {
    name: definition.name,
    location: definition.location,
    serverNames: definition.serverNames,
    databases: definition.databases,
    settings,
    tls: tls?.options,
    inheritsRules: !ownRules,
    hba,
    ownClientTrust: setsOwn(ROUTE_TRUST_SETTINGS),
    certificates: tls ? await certificateInventory(tls.files) : [],
  };
}

/** The main load's certificates with each route's own, each file listed once. */
export function withRouteCertificates(
  main: readonly CertificateEntry[],
  routes: RoutesSnapshot,
): CertificateEntry[] {
  const all = [...main, ...routes.routes.flatMap((route) => route.certificates)];
  const seen = new Set<string>();
  return all.filter((entry) => {
    const key = `${entry.kind}\u0000${entry.file}\u0000${entry.serial}\u0000${entry.subject}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
