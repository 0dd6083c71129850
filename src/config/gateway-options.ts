// postgresql.conf's names mapped onto the options the components own, in one place: the
// server's TLS configuration (src/tls/server-tls.ts) and the gateway's listening sockets
// (src/gateway/listeners.ts) take camelCase fields with no empty strings standing for "not
// set", and never see the Settings type.
import type { ListenSpec } from '../gateway/listeners.js';
import type { ServerTlsConfig } from '../tls/server-tls.js';
import type { Settings } from './settings.js';

/** '' (postgresql.conf's "not set") as undefined. */
function given(value: string): string | undefined {
  return value === '' ? undefined : value;
}

/** The ssl_* settings as the server's TLS configuration. */
export function serverTlsConfig(settings: Settings): ServerTlsConfig {
  return {
    certFile: settings.ssl_cert_file,
    keyFile: settings.ssl_key_file,
    caFile: given(settings.ssl_ca_file),
    crlFile: given(settings.ssl_crl_file),
    crlDir: given(settings.ssl_crl_dir),
    ciphers: settings.ssl_ciphers,
    preferServerCiphers: settings.ssl_prefer_server_ciphers,
    ecdhCurve: given(settings.ssl_ecdh_curve),
    minVersion: settings.ssl_min_protocol_version,
    maxVersion:
      settings.ssl_max_protocol_version === '' ? undefined : settings.ssl_max_protocol_version,
    passphraseCommand: settings.ssl_passphrase_command,
    passphraseCommandSupportsReload: settings.ssl_passphrase_command_supports_reload,
  };
}

/** Where the gateway listens: listen_addresses, port and the unix socket settings. */
export function gatewayListenSpec(settings: Settings): ListenSpec {
  return {
    listenAddresses: settings.listen_addresses,
    port: settings.port,
    unixSocketDirectories: settings.unix_socket_directories,
    unixSocketPermissions: settings.unix_socket_permissions,
  };
}
