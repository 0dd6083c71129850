#!/usr/bin/env node
// pgtunnel's entry point: parses the command line and runs one command.
// This directory is the only code that ends the process.
import { Command as Program } from 'commander';
import { PGTUNNEL_VERSION } from '../version.js';
import { COMMANDS, requestedCommand } from './command-table.js';
import { ExitCode, exitWithError } from './exit.js';

async function main(): Promise<void> {
  const program = new Program()
    .name('pgtunnel')
    .description('Encrypt and authenticate PostgreSQL sessions')
    .version(PGTUNNEL_VERSION)
    .showHelpAfterError()
    // commander has printed the message; a usage error exits 2 (as documented), help and
    // --version 0. Set before the commands are registered so that they inherit it.
    .exitOverride((error) => process.exit(error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE));
  const requested = requestedCommand(process.argv.slice(2));
  if (requested) {
    // Only the command that runs is loaded: `serve` does not pay (in start-up time and in
    // every worker's memory) for the SSH and CA code, and `ca` not for the gateway.
    (await requested.load())(program);
  } else {
    // --version, --help or an unknown word: list every command without loading any.
    for (const entry of COMMANDS) program.command(entry.name).description(entry.description);
  }
  await program.parseAsync(process.argv);
}

// `pgtunnel ca list | head` closes our stdout early: that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

main().catch(exitWithError);
