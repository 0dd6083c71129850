// `pgtunnel ca`: a small certificate authority for PostgreSQL — root and intermediate CAs, server
// and client certificates, revocation and CRLs — driving src/ca/ca-store.ts.
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { type IndexEntry, revokedIssuer } from '../../ca/ca-index.js';
import { daysUntil, listCertificates } from '../../ca/ca-listing.js';
// ca-store and inspect load the X.509 library: imported by the subcommands that need them
import type { CaStore, CertificateRef, IssueResult } from '../../ca/ca-store.js';
import { KEY_TYPES, type KeyType, parseKeyType } from '../../ca/keys.js';
import { caLayout } from '../../ca/layout.js';
import { passphraseFromFile, promptPassphrase } from '../../ca/passphrase.js';
import { PgTunnelError } from '../../errors.js';

/** Options every `ca` subcommand takes. */
interface CommonOptions {
  caDir?: string;
  passphraseFile?: string;
}

interface CreateOptions extends CommonOptions {
  cn?: string;
  org?: string;
  keyType?: KeyType;
  days?: number;
  force?: boolean;
}

interface LeafOptions extends CommonOptions {
  keyType?: KeyType;
  days?: number;
  certFile?: string;
  keyFile?: string;
  libpq?: string | boolean;
  force?: boolean;
}

const DEFAULT_CA_DIR = './pgtunnel-ca';

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new InvalidArgumentError('expected a whole number of days above 0');
  return n;
}

function keyTypeArgument(value: string): KeyType {
  try {
    return parseKeyType(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Adds the options shared by every subcommand. */
function common(command: Command): Command {
  return command
    .option('--ca-dir <dir>', `CA directory (default: $PGTUNNEL_CA_DIR or ${DEFAULT_CA_DIR})`)
    .option(
      '--passphrase-file <file>',
      'file whose first line is the CA key passphrase, - for standard input (or set $PGTUNNEL_CA_PASSPHRASE)',
    );
}

function keyTypeOption(): Option {
  return new Option(
    '--key-type <type>',
    `key algorithm: ${KEY_TYPES.join(', ')} (default: ecdsa-p256)`,
  ).argParser(keyTypeArgument);
}

/** What every leaf certificate command takes: key type, validity and where the files go. */
function leafFileOptions(command: Command): Command {
  return command
    .addOption(keyTypeOption())
    .option('--days <n>', 'validity in days (default: 397)', positiveInteger)
    .option('--cert-file <file>', 'where to write the certificate chain (default: ./<cn>.crt)')
    .option('--key-file <file>', 'where to write the private key (default: ./<cn>.key)');
}

function caDir(options: CommonOptions): string {
  return options.caDir ?? process.env.PGTUNNEL_CA_DIR ?? DEFAULT_CA_DIR;
}

/**
 * Opens the CA directory with the passphrase from --passphrase-file or the environment. Without
 * either, a terminal user is asked when a CA key turns out to be encrypted. `creating` marks
 * commands that encrypt a new CA key: a passphrase typed for them is asked twice.
 */
async function openStore(options: CommonOptions, creating = false): Promise<CaStore> {
  const dir = caDir(options);
  const streams = { input: process.stdin, output: process.stderr };
  const fromEnv = process.env.PGTUNNEL_CA_PASSPHRASE;
  const passphrase = options.passphraseFile
    ? await passphraseFromFile(options.passphraseFile, streams, creating)
    : fromEnv === ''
      ? undefined
      : fromEnv;
  const askPassphrase = process.stdin.isTTY
    ? async (keyFile: string) => {
        const typed = await promptPassphrase(`Passphrase for ${keyFile}: `, streams);
        if (typed === '') throw new PgTunnelError('ERR_CA_PASSPHRASE', 'no passphrase typed');
        return typed;
      }
    : undefined;
  const { CaStore } = await import('../../ca/ca-store.js');
  return new CaStore(resolve(dir), { passphrase, askPassphrase });
}

/** A file name made from a common name: `*.example.com` becomes `_.example.com`. */
function fileStem(commonName: string): string {
  return commonName.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
}

/** Output paths for a leaf: --libpq's layout, explicit files, or `<cn>.crt`/`<cn>.key` here. */
function leafOutputs(commonName: string, options: LeafOptions, kind: 'server' | 'client') {
  if (options.libpq !== undefined && options.libpq !== false) {
    if (kind !== 'client') {
      throw new PgTunnelError('ERR_USAGE', '--libpq is for client certificates only');
    }
    if (options.certFile || options.keyFile) {
      throw new PgTunnelError(
        'ERR_USAGE',
        '--libpq chooses the file names itself; drop --cert-file/--key-file, or drop --libpq',
      );
    }
    const dir = typeof options.libpq === 'string' ? options.libpq : join(homedir(), '.postgresql');
    return {
      certFile: join(dir, 'postgresql.crt'),
      keyFile: join(dir, 'postgresql.key'),
      rootFile: join(dir, 'root.crt'),
    };
  }
  const stem = fileStem(commonName);
  return {
    certFile: options.certFile ?? `${stem}.crt`,
    keyFile: options.keyFile ?? `${stem}.key`,
    rootFile: undefined,
  };
}

function printIssued(store: CaStore, result: IssueResult, verb: string): void {
  const { entry } = result;
  const sans = entry.sans.length > 0 ? ` (${entry.sans.join(', ')})` : '';
  console.log(`${verb} ${entry.kind} certificate for ${entry.commonName}${sans}`);
  console.log(`  serial:            ${entry.serial}`);
  console.log(`  valid until:       ${entry.notAfter}`);
  console.log(`  certificate chain: ${result.certFile}`);
  console.log(`  private key:       ${result.keyFile} (mode 0600)`);
  if (result.rootFile) console.log(`  trusted CAs:       ${result.rootFile}`);
  if (entry.kind === 'server') {
    console.log('For PostgreSQL (postgresql.conf):');
    console.log(`  ssl_cert_file = '${resolve(result.certFile)}'`);
    console.log(`  ssl_key_file = '${resolve(result.keyFile)}'`);
    console.log(`  ssl_ca_file = '${store.layout.caBundle}'`);
    console.log(`  ssl_crl_file = '${store.layout.crlBundle}'`);
    console.log("The key must be owned by the server's OS user (e.g. postgres) with mode 0600.");
  } else if (!result.rootFile) {
    console.log('For libpq (connection string):');
    console.log(
      `  sslcert=${resolve(result.certFile)} sslkey=${resolve(result.keyFile)} sslrootcert=${store.layout.caBundle} sslmode=verify-full`,
    );
  }
}

function parseRef(value: string): CertificateRef {
  if (existsSync(value)) return { certFile: value };
  if (/^(0x)?[0-9a-f:]+$/i.test(value)) return { serial: value };
  throw new PgTunnelError(
    'ERR_USAGE',
    `"${value}" is neither an existing certificate file nor a hexadecimal serial; \`pgtunnel ca list\` shows serials`,
  );
}

function status(entry: IndexEntry, entries: readonly IndexEntry[], now: Date): string {
  if (entry.revokedAt) return `revoked ${entry.revokedAt.slice(0, 10)}`;
  const revokedCa = revokedIssuer(entries, entry);
  if (revokedCa) return `untrusted: its CA ${revokedCa.serial} was revoked`;
  const days = daysUntil(new Date(entry.notAfter), now);
  return days < 0 ? 'expired' : `valid, ${days} days left`;
}

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
  for (const row of rows) {
    console.log(
      row
        .map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col]!)))
        .join('  '),
    );
  }
}

export function registerCa(program: Command): void {
  const ca = program
    .command('ca')
    .description(
      'a small certificate authority for PostgreSQL, libpq and pgtunnel (see docs/ca.md)',
    );

  common(ca.command('init'))
    .description('create the root CA')
    .option('--cn <name>', 'root CA common name', 'pgtunnel Root CA')
    .option('--org <name>', 'organization (O=) in the CA name')
    .addOption(keyTypeOption())
    .option('--days <n>', 'validity in days (default: 3650)', positiveInteger)
    .option('--force', 'replace an existing CA, discarding its intermediate and index')
    .action(async (options: CreateOptions) => {
      const store = await openStore(options, true);
      const entry = await store.init({
        commonName: options.cn,
        organization: options.org,
        keyType: options.keyType,
        days: options.days,
        force: options.force,
      });
      console.log(`created root CA "${entry.subject}" in ${store.layout.dir}`);
      console.log(`  serial ${entry.serial}, ${entry.keyType}, valid until ${entry.notAfter}`);
      console.log('Next: pgtunnel ca intermediate');
    });

  common(ca.command('intermediate'))
    .description(
      'create the intermediate CA (signed by the root) that signs server and client certificates',
    )
    .option('--cn <name>', 'intermediate CA common name', 'pgtunnel Intermediate CA')
    .option('--org <name>', 'organization (O=) in the CA name')
    .addOption(keyTypeOption())
    .option('--days <n>', 'validity in days (default: 1825)', positiveInteger)
    .option('--force', 'replace the intermediate; the old one is revoked with all it signed')
    .action(async (options: CreateOptions) => {
      const store = await openStore(options, true);
      const entry = await store.createIntermediate({
        commonName: options.cn,
        organization: options.org,
        keyType: options.keyType,
        days: options.days,
        force: options.force,
      });
      console.log(`created intermediate CA "${entry.subject}" in ${store.layout.dir}`);
      console.log(`  serial ${entry.serial}, ${entry.keyType}, valid until ${entry.notAfter}`);
      console.log(`CA bundle (ssl_ca_file, sslrootcert): ${store.layout.caBundle}`);
      console.log(`CRL bundle (ssl_crl_file):            ${store.layout.crlBundle}`);
    });

  const issue = ca.command('issue').description('issue a server or client certificate');

  leafFileOptions(
    common(issue.command('server'))
      .description('issue a TLS server certificate for PostgreSQL or pgtunnel serve')
      .requiredOption('--cn <host>', 'host name clients connect to')
      .option(
        '--san <name>',
        'extra DNS name or IP address (DNS:name, IP:addr); repeatable',
        collect,
      ),
  )
    .option('--force', 'overwrite existing output files')
    .action(async (options: LeafOptions & { cn: string; san?: string[] }) => {
      const store = await openStore(options);
      const result = await store.issue({
        kind: 'server',
        commonName: options.cn,
        sans: options.san,
        keyType: options.keyType,
        days: options.days,
        force: options.force,
        ...leafOutputs(options.cn, options, 'server'),
      });
      printIssued(store, result, 'issued');
    });

  leafFileOptions(
    common(issue.command('client'))
      .description('issue a client certificate for `cert` authentication (CN = PostgreSQL user)')
      .requiredOption('--cn <user>', 'PostgreSQL user name'),
  )
    .option(
      '--libpq [dir]',
      "write libpq's postgresql.crt, postgresql.key and root.crt (default dir: ~/.postgresql)",
    )
    .option('--force', 'overwrite existing output files')
    .action(async (options: LeafOptions & { cn: string }) => {
      const store = await openStore(options);
      const result = await store.issue({
        kind: 'client',
        commonName: options.cn,
        keyType: options.keyType,
        days: options.days,
        force: options.force,
        ...leafOutputs(options.cn, options, 'client'),
      });
      printIssued(store, result, 'issued');
    });

  leafFileOptions(
    common(ca.command('renew'))
      .description('issue a new certificate with the same subject and SANs as an existing one')
      .argument('<serial-or-file>', 'serial number or certificate file to renew'),
  )
    .option(
      '--libpq [dir]',
      "client certificates: write libpq's files (default dir: ~/.postgresql)",
    )
    .option('--revoke-old', 'revoke the old certificate and republish the CRLs')
    .option('--force', 'overwrite existing output files')
    .action(async (target: string, options: LeafOptions & { revokeOld?: boolean }) => {
      const store = await openStore(options);
      const ref = parseRef(target);
      const old = await store.find(ref);
      const kind = old.kind === 'server' ? 'server' : 'client';
      const result = await store.renew(ref, {
        keyType: options.keyType,
        days: options.days,
        force: options.force,
        revokeOld: options.revokeOld,
        ...leafOutputs(old.commonName, options, kind),
      });
      printIssued(store, result, `renewed ${old.serial} as a new`);
      if (options.revokeOld) console.log(`revoked ${old.serial}; CRLs updated`);
    });

  common(ca.command('revoke'))
    .description('revoke a certificate and republish the CRLs')
    .argument('<serial-or-file>', 'serial number or certificate file to revoke')
    .action(async (target: string, options: CommonOptions) => {
      const store = await openStore(options);
      const { entry, alreadyRevoked } = await store.revoke(parseRef(target));
      if (alreadyRevoked) {
        console.log(`${entry.serial} (${entry.subject}) was already revoked at ${entry.revokedAt}`);
        return;
      }
      console.log(`revoked ${entry.kind} certificate ${entry.serial} (${entry.subject})`);
      console.log(`CRLs updated: ${store.layout.crlBundle}`);
      console.log(
        'PostgreSQL reads ssl_crl_file on reload: run `SELECT pg_reload_conf()`; pgtunnel serve on SIGHUP.',
      );
    });

  common(ca.command('crl'))
    .description('write fresh CRLs for every CA level (re-run before they expire)')
    .option('--days <n>', 'CRL validity in days (default: 30)', positiveInteger)
    .action(async (options: CommonOptions & { days?: number }) => {
      const store = await openStore(options);
      const written = await store.writeCrls({ days: options.days });
      for (const file of written) console.log(`wrote ${file}`);
    });

  common(ca.command('list'))
    .description('list every certificate the CA has issued')
    .option('--json', 'print the index as JSON')
    .action(async (options: CommonOptions & { json?: boolean }) => {
      const entries = await listCertificates(caLayout(resolve(caDir(options))));
      if (options.json) {
        console.log(JSON.stringify(entries, null, 2));
        return;
      }
      const now = new Date();
      printTable([
        ['SERIAL', 'KIND', 'SUBJECT', 'NOT AFTER', 'STATUS'],
        ...entries.map((e) => [
          e.serial,
          e.kind,
          e.subject,
          e.notAfter.slice(0, 10),
          status(e, entries, now),
        ]),
      ]);
    });

  ca.command('inspect')
    .description('show subject, SANs, issuer, serial, validity and key type of a PEM file')
    .argument('<file>', 'certificate, chain, CRL or key file (key contents are never shown)')
    .option('--json', 'print as JSON')
    .action(async (file: string, options: { json?: boolean }) => {
      let text: string;
      try {
        await stat(file);
        text = await readFile(file, 'utf8');
      } catch (error) {
        throw new PgTunnelError('ERR_CA_FILE', `cannot read ${file}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      const { describePem, formatDescriptions } = await import('../../ca/inspect.js');
      const items = describePem(text, file);
      if (items.length === 0) {
        throw new PgTunnelError(
          'ERR_CA_DAMAGED',
          `${file} holds no PEM certificate, CRL or private key`,
        );
      }
      if (options.json) console.log(JSON.stringify(items, null, 2));
      else process.stdout.write(formatDescriptions(file, items));
    });
}
