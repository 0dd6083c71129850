// `pgtunnel ssh`: placeholder until the command lands.
import type { Command } from 'commander';

export function registerSsh(program: Command): void {
  program.command('ssh').description('(not available yet)');
}
