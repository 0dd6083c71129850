// sd_listen_fds() rules: LISTEN_FDS counts only when LISTEN_PID names this very process.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../errors.js';
import { activatedSockets, forgetActivationEnvironment } from './socket-activation.js';

describe('activatedSockets', () => {
  it('returns the fds from 3 on, named by LISTEN_FDNAMES', () => {
    assert.deepEqual(
      activatedSockets({ LISTEN_PID: '42', LISTEN_FDS: '2', LISTEN_FDNAMES: 'orders' }, 42),
      [
        { fd: 3, name: 'orders' },
        { fd: 4, name: 'unknown' },
      ],
    );
  });
  it('ignores LISTEN_FDS without LISTEN_PID, or meant for another process', () => {
    assert.deepEqual(activatedSockets({ LISTEN_FDS: '1' }, 42), []);
    assert.deepEqual(activatedSockets({ LISTEN_PID: '41', LISTEN_FDS: '1' }, 42), []);
    assert.deepEqual(activatedSockets({ LISTEN_PID: '42' }, 42), []);
    assert.deepEqual(activatedSockets({}, 42), []);
  });
  it('rejects values that are not numbers, as sd_listen_fds() does', () => {
    for (const env of [
      { LISTEN_PID: 'abc', LISTEN_FDS: '1' },
      { LISTEN_PID: '', LISTEN_FDS: '1' },
      { LISTEN_PID: '42', LISTEN_FDS: 'x' },
    ]) {
      assert.throws(
        () => activatedSockets(env, 42),
        (error: unknown) => error instanceof ConfigError && error.code === 'ERR_INHERITED_SOCKET',
      );
    }
  });
  it('removes the variables so that child processes do not take the sockets', () => {
    const env: NodeJS.ProcessEnv = {
      LISTEN_PID: '1',
      LISTEN_FDS: '1',
      LISTEN_FDNAMES: 'a',
      X: 'y',
    };
    forgetActivationEnvironment(env);
    assert.deepEqual(env, { X: 'y' });
  });
});
