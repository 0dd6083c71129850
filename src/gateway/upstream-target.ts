// The `upstream` setting — a libpq connection string or URI — as the target the gateway dials.
import { ConfigError, describeError } from '../errors.js';
import { resolveConnInfo } from '../tunnel/conninfo.js';
import { targetFromConnInfo, type UpstreamTarget } from '../tunnel/upstream-session.js';

export function upstreamTarget(conninfo: string): UpstreamTarget {
  try {
    return targetFromConnInfo(resolveConnInfo(conninfo));
  } catch (error) {
    throw new ConfigError(
      'ERR_CONFIG_INVALID',
      `invalid value for parameter "upstream": ${describeError(error)}`,
      {
        cause: error,
      },
    );
  }
}
