// The table of pgtunnel's commands: name, one-line description, and how to load its code.
// `pgtunnel --help` lists them from here without loading any of them; a command's own module
// is imported only when that command runs (start-up time matters for scripts and `ca` calls).
import type { Command } from 'commander';

export type Register = (program: Command) => void;

export interface CommandEntry {
  name: string;
  /** The same text the command's module gives commander (checked by command-table.test.ts). */
  description: string;
  load: () => Promise<Register>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'serve',
    description: 'Run the TLS gateway in front of a PostgreSQL server',
    load: () => import('./commands/serve.js').then((m) => m.registerServe),
  },
  {
    name: 'reload',
    description: 'Make a running `pgtunnel serve` reload its configuration (like pg_ctl reload)',
    load: () => import('./commands/reload.js').then((m) => m.registerReload),
  },
  {
    name: 'connect',
    description:
      'Give local clients a plaintext PostgreSQL endpoint that connects onward over TLS with libpq sslmode semantics',
    load: () => import('./commands/connect.js').then((m) => m.registerConnect),
  },
  {
    name: 'ssh',
    description: 'forward local ports to PostgreSQL through SSH (ssh -L semantics), reconnecting',
    load: () => import('./commands/ssh.js').then((m) => m.registerSsh),
  },
  {
    name: 'ca',
    description:
      'a small certificate authority for PostgreSQL, libpq and pgtunnel (see docs/ca.md)',
    load: () => import('./commands/ca.js').then((m) => m.registerCa),
  },
  {
    name: 'check',
    description: 'Audit the TLS and security settings of PostgreSQL servers, gateways and poolers',
    load: () => import('./commands/check.js').then((m) => m.registerCheck),
  },
  {
    name: 'probe',
    description:
      'Check that a server answers TLS (SSLRequest, handshake, certificate) without logging in; exit 0 if so',
    load: () => import('./commands/probe.js').then((m) => m.registerProbe),
  },
];

/** The command named on this command line (`pgtunnel NAME …` or `pgtunnel help NAME`), if any. */
export function requestedCommand(args: readonly string[]): CommandEntry | undefined {
  const word = args[0] === 'help' ? args[1] : args[0];
  return COMMANDS.find((entry) => entry.name === word);
}
