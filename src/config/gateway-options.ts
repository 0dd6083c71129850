// postgresql.conf's ssl_* names mapped onto the server's TLS configuration
// (src/tls/server-tls.ts), which takes camelCase fields with no empty strings standing for "not
// set" and never sees the Settings type. (The gateway's listening sockets take theirs in
// src/gateway/listeners.ts, gatewayListenSpec.)
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
