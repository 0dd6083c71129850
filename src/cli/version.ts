// The version `pgtunnel --version` prints; kept equal to package.json's by version.test.ts.
export const VERSION = '0.1.0';
