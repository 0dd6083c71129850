// `pgtunnel ca`: placeholder until the command lands.
import type { Command } from 'commander';

export function registerCa(program: Command): void {
  program.command('ca').description('(not available yet)');
}
