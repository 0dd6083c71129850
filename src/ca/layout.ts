// The on-disk layout of a CA directory, in one place so the CLI, the docs and the tests agree.
import { join } from 'node:path';

/** Where the CA levels live inside the CA directory. */
export type CaLevel = 'root' | 'intermediate';

/** Every path inside a CA directory. See docs/ca.md for what each file is for. */
export interface CaLayout {
  dir: string;
  /** JSON record of every certificate issued: serial, subject, kind, validity, revocation. */
  index: string;
  /** Held while a command changes the directory, so two commands cannot interleave. */
  lock: string;
  /** Copies of every issued certificate, named `<serial>.crt`. */
  issuedDir: string;
  /** Root certificate followed by intermediate certificate: ssl_ca_file and sslrootcert. */
  caBundle: string;
  /** The CRLs of every CA level in one file: ssl_crl_file and pgtunnel's CRL option. */
  crlBundle: string;
  level(level: CaLevel): { dir: string; cert: string; key: string; crl: string };
  issued(serial: string): string;
}

export function caLayout(dir: string): CaLayout {
  return {
    dir,
    index: join(dir, 'index.json'),
    lock: join(dir, 'index.lock'),
    issuedDir: join(dir, 'issued'),
    caBundle: join(dir, 'ca-bundle.crt'),
    crlBundle: join(dir, 'crl-bundle.pem'),
    level(level) {
      const levelDir = join(dir, level);
      return {
        dir: levelDir,
        cert: join(levelDir, 'ca.crt'),
        key: join(levelDir, 'ca.key'),
        crl: join(levelDir, 'crl.pem'),
      };
    },
    issued(serial) {
      return join(dir, 'issued', `${serial}.crt`);
    },
  };
}
