// A throw-away PKI per test run, made by our own CA code: root and intermediate CAs, a localhost
// server certificate, client certificates on demand, CRLs for both CA levels, and an untrusted CA.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaStore } from '../../src/ca/ca-store.js';
import type { KeyType } from '../../src/ca/keys.js';

export interface TestPki {
  /** Temp dir holding everything below. */
  dir: string;
  /** Root CA certificate (PEM). */
  rootCert: string;
  /** Intermediate CA certificate (PEM). */
  intermediateCert: string;
  /** Root + intermediate: what ssl_ca_file and sslrootcert get. */
  caBundle: string;
  /** Leaf + intermediate; CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1. */
  serverCert: string;
  /** Server key, mode 0600. */
  serverKey: string;
  /** CRLs of the root and the intermediate in one PEM file (`X509 CRL` label). */
  crlBundle: string;
  /**
   * A client certificate for `user` (CN = `cn` ?? `user`); the cert file includes the
   * intermediate, the key is 0600. `untrusted` = signed by a separate CA not in caBundle.
   */
  client(
    user: string,
    opts?: { expired?: boolean; untrusted?: boolean; cn?: string },
  ): Promise<{ cert: string; key: string }>;
  /** Revokes a certificate this PKI issued and rewrites crlBundle. */
  revoke(certPath: string): Promise<void>;
  /**
   * Another server certificate from the trusted CA with exactly these SANs (`DNS:x`, `IP:y`),
   * e.g. for a wrong host name.
   */
  otherServer(opts: { cn: string; sans: string[] }): Promise<{ cert: string; key: string }>;
  /** A root CA no one trusts, for "wrong CA" tests. */
  untrustedRootCert: string;
  cleanup(): Promise<void>;
}

const DAY_MS = 86_400_000;

export async function createTestPki(options: { keyType?: KeyType } = {}): Promise<TestPki> {
  const keyType = options.keyType ?? 'ecdsa-p256';
  const dir = await mkdtemp(join(tmpdir(), 'pgtunnel-pki-'));
  // mkdtemp makes the directory 0700; the test server runs as another OS user.
  await chmod(dir, 0o755);
  try {
    const trusted = new CaStore(join(dir, 'ca'));
    const untrusted = new CaStore(join(dir, 'untrusted-ca'));
    await Promise.all(
      [trusted, untrusted].map(async (store, i) => {
        const label = i === 0 ? 'Test' : 'Untrusted Test';
        await store.init({ keyType, commonName: `pgtunnel ${label} Root CA` });
        await store.createIntermediate({
          keyType,
          commonName: `pgtunnel ${label} Intermediate CA`,
        });
      }),
    );
    const server = await trusted.issue({
      kind: 'server',
      commonName: 'localhost',
      sans: ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1'],
      keyType,
      certFile: join(dir, 'server.crt'),
      keyFile: join(dir, 'server.key'),
    });

    let counter = 0;
    const nextName = (base: string) => `${base.replace(/[^A-Za-z0-9_.-]/g, '_')}-${++counter}`;

    return {
      dir,
      rootCert: trusted.layout.level('root').cert,
      intermediateCert: trusted.layout.level('intermediate').cert,
      caBundle: trusted.layout.caBundle,
      serverCert: server.certFile,
      serverKey: server.keyFile,
      crlBundle: trusted.layout.crlBundle,
      untrustedRootCert: untrusted.layout.level('root').cert,
      async client(user, opts = {}) {
        const name = nextName(user);
        const now = Date.now();
        const result = await (opts.untrusted ? untrusted : trusted).issue({
          kind: 'client',
          commonName: opts.cn ?? user,
          keyType,
          notBefore: opts.expired ? new Date(now - 2 * DAY_MS) : undefined,
          notAfter: opts.expired ? new Date(now - DAY_MS) : undefined,
          certFile: join(dir, 'clients', `${name}.crt`),
          keyFile: join(dir, 'clients', `${name}.key`),
        });
        return { cert: result.certFile, key: result.keyFile };
      },
      async revoke(certPath) {
        await trusted.revoke({ certFile: certPath });
      },
      async otherServer(opts) {
        const name = nextName(opts.cn);
        const result = await trusted.issue({
          kind: 'server',
          commonName: opts.cn,
          sans: opts.sans,
          addCommonNameSan: false,
          keyType,
          certFile: join(dir, 'servers', `${name}.crt`),
          keyFile: join(dir, 'servers', `${name}.key`),
        });
        return { cert: result.certFile, key: result.keyFile };
      },
      async cleanup() {
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
