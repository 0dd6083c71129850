// `pgtunnel reload`: asks a running `pgtunnel serve` to re-read its configuration, certificates
// and rules (the same as `kill -HUP`). It finds the server as pg_ctl does, through a file: the
// pid_file of --config, or --pid-file, or else the default PID file serve writes for its port
// ($XDG_RUNTIME_DIR or /tmp, pgtunnel-PORT.pid).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { PgTunnelError } from '../../errors.js';
import { defaultPidFile } from '../default-pid-file.js';
import { exitWithError } from '../exit.js';

interface ReloadOptions {
  config?: string;
  pidFile?: string;
  port?: string;
}

export function registerReload(program: Command): void {
  program
    .command('reload')
    .description('Make a running `pgtunnel serve` reload its configuration (like pg_ctl reload)')
    .option('-f, --config <file>', 'the configuration file of the server (its pid_file and port)')
    .option('-p, --port <port>', 'the port of the server (default 6432), to find its PID file')
    .option('--pid-file <file>', 'the pid_file of the server')
    .action((options: ReloadOptions) => {
      try {
        const pidFile = pidFileOf(options);
        const pid = readPid(pidFile);
        try {
          process.kill(pid, 'SIGHUP');
        } catch (cause) {
          throw new PgTunnelError(
            'ERR_USAGE',
            `could not send SIGHUP to process ${pid} (from "${pidFile}"): is the server running?`,
            { cause },
          );
        }
        console.log(`server signaled (pid ${pid}, from ${pidFile})`);
      } catch (error) {
        exitWithError(error);
      }
    });
}

function pidFileOf(options: ReloadOptions): string {
  if (options.pidFile) return options.pidFile;
  const file = options.config ?? process.env.PGTUNNEL_CONFIG;
  if (file && options.port === undefined) {
    const { settings } = loadConfig({ configFile: file });
    return settings.pid_file || defaultPidFile(settings.port);
  }
  const port = Number(options.port ?? '6432');
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new PgTunnelError('ERR_USAGE', `-p must be a port number, not "${options.port}"`);
  }
  return defaultPidFile(port);
}

function readPid(pidFile: string): number {
  let text: string;
  try {
    text = readFileSync(pidFile, 'utf8');
  } catch {
    throw new PgTunnelError(
      'ERR_USAGE',
      `could not read PID file "${pidFile}": is the server running? (serve writes it there when pid_file is not set; give -p PORT, -f FILE or --pid-file FILE for another server)`,
    );
  }
  const pid = Number(text.trim().split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) {
    throw new PgTunnelError('ERR_USAGE', `PID file "${pidFile}" does not hold a process id`);
  }
  return pid;
}
