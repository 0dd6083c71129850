// The pgtunnel version, as `pgtunnel --version` and the admin console's SHOW VERSION print it;
// kept equal to package.json's by src/cli/command-table.test.ts.
export const PGTUNNEL_VERSION = '0.1.0';
