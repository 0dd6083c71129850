// `pgtunnel reload`: asks a running `pgtunnel serve` to re-read its configuration, certificates
// and rules (the same as `kill -HUP`), finding it through its pid_file.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { PgTunnelError } from '../../errors.js';
import { exitWithError } from '../exit.js';

export function registerReload(program: Command): void {
  program
    .command('reload')
    .description('Make a running `pgtunnel serve` reload its configuration (like pg_ctl reload)')
    .option('-f, --config <file>', 'the configuration file whose pid_file names the server')
    .option('--pid-file <file>', 'the pid_file of the server')
    .action((options: { config?: string; pidFile?: string }) => {
      try {
        const pidFile = options.pidFile ?? pidFileFromConfig(options.config);
        const pid = readPid(pidFile);
        try {
          process.kill(pid, 'SIGHUP');
        } catch (cause) {
          throw new PgTunnelError(
            'ERR_USAGE',
            `could not send SIGHUP to process ${pid} (from "${pidFile}"): is the server running?`,
            {
              cause,
            },
          );
        }
        console.log(`server signaled (pid ${pid})`);
      } catch (error) {
        exitWithError(error);
      }
    });
}

function pidFileFromConfig(configFile: string | undefined): string {
  const file = configFile ?? process.env.PGTUNNEL_CONFIG;
  if (!file) {
    throw new PgTunnelError(
      'ERR_USAGE',
      'give --pid-file FILE, or --config FILE whose pid_file is set',
    );
  }
  const pidFile = loadConfig({ configFile: file }).settings.pid_file;
  if (pidFile === '') {
    throw new PgTunnelError(
      'ERR_USAGE',
      `pid_file is not set in "${file}": set it, or give --pid-file`,
    );
  }
  return pidFile;
}

function readPid(pidFile: string): number {
  let text: string;
  try {
    text = readFileSync(pidFile, 'utf8');
  } catch {
    throw new PgTunnelError(
      'ERR_USAGE',
      `could not read pid file "${pidFile}": is the server running?`,
    );
  }
  const pid = Number(text.trim().split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) {
    throw new PgTunnelError('ERR_USAGE', `pid file "${pidFile}" does not hold a process id`);
  }
  return pid;
}
