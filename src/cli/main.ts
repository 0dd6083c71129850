#!/usr/bin/env node
// pgtunnel's entry point: parses the command line and runs one command.
// This directory is the only code that ends the process.
import type { Command } from 'commander';
import { Command as Program } from 'commander';
import { ExitCode, exitWithError } from './exit.js';

type Register = (program: Command) => void;

/**
 * Each command is loaded only when it runs: `serve` does not pay (in start-up time and in every
 * worker's memory) for the SSH and CA code, and `ca` not for the gateway.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  serve: () => import('./commands/serve.js').then((m) => m.registerServe),
  reload: () => import('./commands/reload.js').then((m) => m.registerReload),
  connect: () => import('./commands/connect.js').then((m) => m.registerConnect),
  ssh: () => import('./commands/ssh.js').then((m) => m.registerSsh),
  ca: () => import('./commands/ca.js').then((m) => m.registerCa),
  check: () => import('./commands/check.js').then((m) => m.registerCheck),
};

async function main(): Promise<void> {
  const program = new Program()
    .name('pgtunnel')
    .description('Encrypt and authenticate PostgreSQL sessions')
    .version('0.1.0')
    .showHelpAfterError()
    // commander has printed the message; a usage error exits 2 (as documented), help and
    // --version 0. Set before the commands are registered so that they inherit it.
    .exitOverride((error) => process.exit(error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE));
  const requested = process.argv[2];
  const load = requested !== undefined ? COMMANDS[requested] : undefined;
  // An unknown word or `--help` lists every command, so all of them are registered.
  const registers = await Promise.all(load ? [load()] : Object.values(COMMANDS).map((l) => l()));
  for (const register of registers) register(program);
  await program.parseAsync(process.argv);
}

// `pgtunnel ca list | head` closes our stdout early: that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

main().catch(exitWithError);
