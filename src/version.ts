// The pgtunnel version, as `pgtunnel --version` and the admin console's SHOW VERSION print it.
export const PGTUNNEL_VERSION = '0.1.0';
