// `pgtunnel serve`: placeholder until the command lands.
import type { Command } from 'commander';

export function registerServe(program: Command): void {
  program.command('serve').description('(not available yet)');
}
