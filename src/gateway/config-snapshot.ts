// One load of the configuration, as data: the settings plus the contents of every file they
// name (certificate, key, CA, CRLs, hba and ident rules), read and checked once. The process
// that owns configuration builds it; every gateway builds its generation from it without
// touching the disk, so a generation is the same everywhere. With workers it travels over the
// IPC channel, v8-serialized (worker-messages.ts) to keep Buffers and the rules' RegExps.

import type { TlsOptions } from 'node:tls';
import { recording } from '../config/file-source.js';
import { serverTlsConfig } from '../config/gateway-options.js';
import type { LoadedConfig } from '../config/load.js';
import type { Settings } from '../config/settings.js';
import { type LoadedHba, loadHba } from '../hba/load.js';
import {
  type CertificateEntry,
  certificateInventory,
  expiryWarnings,
} from '../tls/certificate-inventory.js';
import { loadServerTls } from '../tls/server-tls.js';
import type { TicketKeys } from '../tls/ticket-keys.js';
import { TlsAcceptor } from '../tls/tls-acceptor.js';
import { builtInAccessPolicy } from './access-policy.js';
import { type WatchList, watchList } from './file-watch.js';
import type { GatewayGeneration } from './generation.js';
import { hbaPolicy } from './hba-policy.js';
import { withRoutes } from './routes/route-generation.js';
import { loadRoutes, type RoutesSnapshot, withRouteCertificates } from './routes/route-snapshot.js';
import { upstreamTargets } from './upstream-target.js';

export interface ConfigSnapshot {
  /** Counts loads from 1; every process reports the number of the one it serves. */
  readonly generation: number;
  readonly settings: Settings;
  /** Server TLS options with the certificate, key and CA material loaded; none when ssl = off. */
  readonly tls: TlsOptions | undefined;
  /** The parsed hba and ident rules; none without hba_file. */
  readonly hba: LoadedHba | undefined;
  /** Every file and directory this load read, for watch_files. */
  readonly watch: WatchList;
  /** The served certificate, CAs and CRLs of this load, with their expiry (metrics, console). */
  readonly certificates: readonly CertificateEntry[];
  /** The routes of routes_file, loaded with everything they name; none without one. */
  readonly routes?: RoutesSnapshot | undefined;
}

/**
 * Reads and checks every file `config` names. Throws ConfigError (with file and line where
 * there is one) on the first problem; nothing is returned for a partly valid configuration.
 */
export async function loadSnapshot(
  config: LoadedConfig,
  context: { generation: number; isReload: boolean },
): Promise<ConfigSnapshot> {
  const { settings } = config;
  const tls = settings.ssl
    ? loadServerTls(serverTlsConfig(settings), { isReload: context.isReload })
    : undefined;
  const authFiles = recording();
  const hba =
    settings.hba_file === ''
      ? undefined
      : await loadHba(
          settings.hba_file,
          settings.ident_file === '' ? undefined : settings.ident_file,
          { ssl: settings.ssl, clientCertificates: settings.ssl && settings.ssl_ca_file !== '' },
          authFiles.source,
        );
  const routeFiles = { files: new Set<string>(), directories: new Set<string>() };
  const routes = await loadRoutes(settings, context, authFiles.source, routeFiles);
  const mainCertificates = tls ? await certificateInventory(tls.files) : [];
  return {
    generation: context.generation,
    settings,
    tls: tls?.options,
    hba,
    watch: watchList(config, {
      files: [...authFiles.read.files, ...routeFiles.files],
      directories: [...authFiles.read.directories, ...routeFiles.directories],
    }),
    certificates: routes ? withRouteCertificates(mainCertificates, routes) : mainCertificates,
    routes,
  };
}

/** Builds the serving generation from a snapshot; no file is read. */
export function generationFrom(
  snapshot: ConfigSnapshot,
  ticketKeys: TicketKeys | undefined,
): GatewayGeneration {
  const main: GatewayGeneration = {
    settings: snapshot.settings,
    tls: snapshot.tls ? tlsAcceptor(snapshot.tls, ticketKeys) : undefined,
    access: snapshot.hba ? hbaPolicy(snapshot.hba) : builtInAccessPolicy,
    upstreams: upstreamTargets(snapshot.settings.upstream),
    certificates: snapshot.certificates,
  };
  return snapshot.routes ? withRoutes(main, snapshot.routes, snapshot.tls, ticketKeys) : main;
}

/** A TLS acceptor for `options`, issuing session tickets under `ticketKeys`. */
function tlsAcceptor(options: TlsOptions, ticketKeys: TicketKeys | undefined): TlsAcceptor {
  return new TlsAcceptor(
    { ...options, ...(ticketKeys ? { ticketKeys: ticketKeys.current } : {}) },
    ticketKeys?.previous ? [ticketKeys.previous] : [],
  );
}

/** Warnings of a snapshot worth logging once, where it was loaded. */
export function snapshotWarnings(snapshot: ConfigSnapshot): string[] {
  return [
    ...(snapshot.hba?.warnings ?? []).map((warning) => `${warning.location}: ${warning.message}`),
    ...(snapshot.routes?.warnings ?? []),
    // Said at start and after each reload, before clients start refusing the certificate.
    ...expiryWarnings(snapshot.certificates, snapshot.settings.ssl_cert_expiry_warning),
  ];
}
