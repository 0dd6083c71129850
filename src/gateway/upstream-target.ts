// The `upstream` setting — a libpq connection string or URI — as the targets the gateway dials:
// one per host of a multi-host string, tried in order as libpq does.
import { ConfigError, describeError } from '../errors.js';
import { resolveConnInfo } from '../libpq/conninfo.js';
import { targetsFromConnInfo, type UpstreamTarget } from '../libpq/upstream-session.js';

export function upstreamTargets(conninfo: string): readonly UpstreamTarget[] {
  try {
    return targetsFromConnInfo(resolveConnInfo(conninfo));
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
