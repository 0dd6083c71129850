// ServeStatus follows a controller through reloads and shutdown, and keeps passwords out of
// the reload errors it reports.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServeController } from '../gateway/supervisor.js';
import { maskPasswords, type ReloadRecord, ServeStatus } from './serve-status.js';

/** A controller whose reload waits until the test lets it finish with `result`. */
function gatedController() {
  let finish: (result: { ok: boolean; error?: string }) => void = () => {};
  let shutdowns = 0;
  const controller: ServeController = {
    addresses: () => ['127.0.0.1:6432'],
    reload: () => new Promise((resolve) => (finish = resolve)),
    shutdown: async () => {
      shutdowns += 1;
    },
    abort: () => {},
    current: () => {
      throw new Error('not used here');
    },
  };
  return {
    controller,
    finish: (r: { ok: boolean; error?: string }) => finish(r),
    shutdowns: () => shutdowns,
  };
}

describe('ServeStatus', () => {
  it('is reloading while a reload runs, then records its outcome', async () => {
    const seen: ReloadRecord[] = [];
    const status = new ServeStatus((record) => seen.push(record));
    const gated = gatedController();
    const tracked = status.track(gated.controller);
    // Read through a function: an assertion on the getter would narrow it for the whole test.
    const last = () => status.lastReload;
    assert.equal(status.state, 'listening');
    assert.equal(status.lastReload, undefined);

    const first = tracked.reload();
    assert.equal(status.state, 'reloading');
    gated.finish({
      ok: false,
      error: 'invalid value for parameter "upstream": "host=db password=s3cret"',
    });
    assert.deepEqual(await first, {
      ok: false,
      error: 'invalid value for parameter "upstream": "host=db password=s3cret"',
    });
    assert.equal(status.state, 'listening');
    assert.equal(last()?.ok, false);
    assert.equal(
      last()?.error,
      'invalid value for parameter "upstream": "host=db password=[redacted]"',
    );

    const second = tracked.reload();
    gated.finish({ ok: true });
    await second;
    assert.equal(last()?.ok, true);
    assert.equal(last()?.error, undefined);
    assert.deepEqual(
      seen.map((r) => r.ok),
      [false, true],
    );
    assert.deepEqual(tracked.addresses(), ['127.0.0.1:6432']);
  });

  it('is stopping from the first shutdown on, also when a reload ends afterwards', async () => {
    const status = new ServeStatus();
    const gated = gatedController();
    const tracked = status.track(gated.controller);
    const reloading = tracked.reload();
    await tracked.shutdown('smart');
    assert.equal(status.state, 'stopping');
    gated.finish({ ok: true });
    await reloading;
    assert.equal(status.state, 'stopping');
    assert.equal(gated.shutdowns(), 1);
  });
});

describe('maskPasswords', () => {
  const cases: Array<[string, string]> = [
    ['host=db password=s3cret user=x', 'host=db password=[redacted] user=x'],
    ["host=db password = 'a b\\' c' user=x", 'host=db password = [redacted] user=x'],
    ["sslpassword='k' host=db", 'sslpassword=[redacted] host=db'],
    ['postgresql://alice:s3cret@db:5432/app', 'postgresql://alice:[redacted]@db:5432/app'],
    [
      'postgresql://db/app?password=s3cret&sslmode=require',
      'postgresql://db/app?password=[redacted]&sslmode=require',
    ],
    ['"upstream": "host=db PASSWORD=x"', '"upstream": "host=db PASSWORD=[redacted]"'],
    ['no secret here: /etc/pgtunnel/server.key', 'no secret here: /etc/pgtunnel/server.key'],
  ];
  for (const [input, expected] of cases) {
    it(input, () => assert.equal(maskPasswords(input), expected));
  }
});
