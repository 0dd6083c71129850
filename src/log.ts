// The logger: pino writing JSON (or one line per event with `log_format = text`) to stderr.
// Components receive a Logger; nothing else writes to the console except the CLI.
import { pino } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** The logging capability components receive. */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  child(fields: object): Logger;
  /** Whether a message at `level` would be written (pino's own; absent: assume it would). */
  isLevelEnabled?(level: Exclude<LogLevel, 'silent'>): boolean;
}

/** Field names whose values must never reach a log: keys and passphrases. */
const REDACTED_PATHS = [
  'key',
  'privateKey',
  'passphrase',
  'password',
  '*.key',
  '*.privateKey',
  '*.passphrase',
  '*.password',
];

export function createLogger(options: { level?: LogLevel; destination?: number } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { pid: process.pid },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ fd: options.destination ?? 2, sync: true }),
  );
}

/** A logger that drops everything; the default for library use and unit tests. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

/**
 * `parent.child(fields)`, made when it first writes. Most connections log nothing at the
 * default level, and a pino child costs (its bindings are serialized when it is made).
 */
export function lazyChild(parent: Logger, fields: object): Logger {
  let made: Logger | undefined;
  const child = () => {
    made ??= parent.child(fields);
    return made;
  };
  const writes = (level: Exclude<LogLevel, 'silent'>) => parent.isLevelEnabled?.(level) ?? true;
  return {
    debug: (f, message) => {
      if (writes('debug')) child().debug(f, message);
    },
    info: (f, message) => {
      if (writes('info')) child().info(f, message);
    },
    warn: (f, message) => {
      if (writes('warn')) child().warn(f, message);
    },
    error: (f, message) => {
      if (writes('error')) child().error(f, message);
    },
    child: (more) => lazyChild(parent, { ...fields, ...more }),
    isLevelEnabled: (level) => writes(level),
  };
}
