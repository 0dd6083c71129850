#!/usr/bin/env node
// pgtunnel's entry point: parses the command line and runs one command.
// This directory is the only code that ends the process.
import { Command } from 'commander';
import { registerCa } from './commands/ca.js';
import { registerConnect } from './commands/connect.js';
import { registerReload } from './commands/reload.js';
import { registerServe } from './commands/serve.js';
import { registerSsh } from './commands/ssh.js';
import { exitWithError } from './exit.js';

const program = new Command()
  .name('pgtunnel')
  .description('Encrypt and authenticate PostgreSQL sessions')
  .version('0.1.0')
  .showHelpAfterError();

registerServe(program);
registerReload(program);
registerConnect(program);
registerSsh(program);
registerCa(program);

// `pgtunnel ca list | head` closes our stdout early: that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

program.parseAsync(process.argv).catch(exitWithError);
