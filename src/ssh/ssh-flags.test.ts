// ssh's flags: each one pgtunnel does not offer is refused in one line that names it; the log
// level follows -q/-v unless --log-level is given; `localhost` listens on both loopbacks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PgTunnelError } from '../errors.js';
import { listenAddresses } from './forward-spec.js';
import {
  flagKey,
  logLevelFor,
  NO_OP_SSH_FLAGS,
  refuseUnsupportedFlags,
  UNSUPPORTED_SSH_FLAGS,
} from './ssh-flags.js';

/** Flags pgtunnel ssh acts on itself. */
const HANDLED = ['-L', '-p', '-l', '-i', '-J', '-F', '-o', '-f', '-q', '-v', '-4', '-6', '-C'];

describe('ssh flags', () => {
  it('refuses each unsupported flag with one line naming it', () => {
    for (const { flag, argument } of UNSUPPORTED_SSH_FLAGS) {
      const given = { [flagKey(flag)]: argument ? 'x' : true };
      assert.throws(
        () => refuseUnsupportedFlags(given),
        (error: unknown) =>
          error instanceof PgTunnelError &&
          error.code === 'ERR_USAGE' &&
          error.message.startsWith(`ssh's ${flag} is not supported by pgtunnel ssh: `) &&
          !error.message.includes('\n'),
      );
    }
    assert.doesNotThrow(() => refuseUnsupportedFlags({ N: true, f: true, v: 2 }));
  });

  it('lists every ssh flag once: handled, ignored or refused', () => {
    const all = [
      ...HANDLED,
      ...NO_OP_SSH_FLAGS.map((f) => f.flag),
      ...UNSUPPORTED_SSH_FLAGS.map((f) => f.flag),
    ];
    assert.equal(new Set(all).size, all.length, 'no flag is in two lists');
    // OpenSSH 9.2's ssh(1) synopsis, less -V (pgtunnel --version answers it).
    const ssh = '1246ACGKMNTVXYafgknqstvxyBbcDEeFIiJLlmOoPpQRSWw'.split('').map((c) => `-${c}`);
    assert.deepEqual(
      ssh.filter((flag) => flag !== '-V' && !all.includes(flag)),
      [],
    );
  });

  it('maps -q and -v to log levels, --log-level winning', () => {
    const table: Array<[Parameters<typeof logLevelFor>[0], string]> = [
      [{}, 'info'],
      [{ quiet: true }, 'error'],
      [{ verbose: 1 }, 'debug'],
      [{ verbose: 3 }, 'debug'],
      [{ verbose: 1, logLevel: 'warn' }, 'warn'],
      [{ quiet: true, logLevel: 'info' }, 'info'],
    ];
    for (const [flags, level] of table)
      assert.equal(logLevelFor(flags), level, JSON.stringify(flags));
  });

  it('listens on both loopback addresses for localhost, as ssh does', () => {
    assert.deepEqual(listenAddresses('localhost', 'any'), ['127.0.0.1', '::1']);
    assert.deepEqual(listenAddresses('LOCALHOST', 'inet'), ['127.0.0.1']);
    assert.deepEqual(listenAddresses('localhost', 'inet6'), ['::1']);
    assert.deepEqual(listenAddresses('127.0.0.1', 'any'), ['127.0.0.1']);
    assert.deepEqual(listenAddresses(undefined, 'any'), [undefined]);
  });
});
