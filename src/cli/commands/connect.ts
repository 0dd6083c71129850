// `pgtunnel connect`: placeholder until the command lands.
import type { Command } from 'commander';

export function registerConnect(program: Command): void {
  program.command('connect').description('(not available yet)');
}
