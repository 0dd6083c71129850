// The error every upstream connection failure becomes: a PgTunnelError whose message is what
// libpq would print (so a gateway or tunnel can hand it to a client in a FATAL), with libpq's
// hint kept apart for the ErrorResponse hint field.
import { type ErrorCode, PgTunnelError } from '../errors.js';

export class UpstreamError extends PgTunnelError {
  /** The failure without the "connection to server at …" prefix, e.g. "Connection refused". */
  readonly reason: string;
  /** libpq's hint line, when it prints one. */
  readonly hint: string | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { reason?: string; hint?: string | undefined; cause?: unknown } = {},
  ) {
    super(code, message, { cause: options.cause });
    this.reason = options.reason ?? message;
    this.hint = options.hint;
  }
}
