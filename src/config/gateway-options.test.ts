// The ssl_* settings reach the TLS configuration under their own names, with postgresql.conf's
// empty "not set" turned into undefined.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serverTlsConfig } from './gateway-options.js';
import { loadConfig } from './load.js';

const settingsOf = (values: Record<string, string>) =>
  loadConfig({
    cwd: '/etc/pgtunnel',
    overrides: Object.entries(values).map(([name, value]) => ({ name, value, origin: name })),
  }).settings;

describe('serverTlsConfig', () => {
  it('maps every ssl_* setting it uses', () => {
    const config = serverTlsConfig(
      settingsOf({
        ssl_cert_file: 'server.crt',
        ssl_key_file: 'server.key',
        ssl_ca_file: 'ca.crt',
        ssl_crl_file: 'ca.crl',
        ssl_crl_dir: 'crls',
        ssl_ciphers: 'HIGH',
        ssl_prefer_server_ciphers: 'off',
        ssl_ecdh_curve: 'prime256v1',
        ssl_min_protocol_version: 'TLSv1.3',
        ssl_max_protocol_version: 'TLSv1.3',
        ssl_passphrase_command: 'echo pw',
        ssl_passphrase_command_supports_reload: 'on',
      }),
    );
    assert.deepEqual(config, {
      certFile: '/etc/pgtunnel/server.crt',
      keyFile: '/etc/pgtunnel/server.key',
      caFile: '/etc/pgtunnel/ca.crt',
      crlFile: '/etc/pgtunnel/ca.crl',
      crlDir: '/etc/pgtunnel/crls',
      ciphers: 'HIGH',
      preferServerCiphers: false,
      ecdhCurve: 'prime256v1',
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      passphraseCommand: 'echo pw',
      passphraseCommandSupportsReload: true,
    });
  });

  it('turns the empty "not set" into undefined', () => {
    const config = serverTlsConfig(
      settingsOf({ ssl_ca_file: '', ssl_crl_file: '', ssl_crl_dir: '', ssl_ecdh_curve: '' }),
    );
    assert.equal(config.caFile, undefined);
    assert.equal(config.crlFile, undefined);
    assert.equal(config.crlDir, undefined);
    assert.equal(config.ecdhCurve, undefined);
    assert.equal(config.maxVersion, undefined);
  });
});
