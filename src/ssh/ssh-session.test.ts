// Reconnecting on demand: a client arriving while the tunnel is down starts an attempt without
// waiting for the backoff, and many clients arriving together share one attempt at a time.
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { describe, it } from 'node:test';
import type { ClientChannel } from 'ssh2';
import { PgTunnelError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SshChain } from './ssh-chain.js';
import { SshSession } from './ssh-session.js';

/** Stands in for a live SSH connection: hands out channels until dropped. */
class FakeChain extends EventEmitter {
  isClosed = false;
  async openChannel(): Promise<ClientChannel> {
    return {} as ClientChannel;
  }
  close(): void {
    this.drop();
  }
  drop(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.emit('close', new PgTunnelError('ERR_SSH', 'the SSH connection ended'));
  }
}

/** A connect() whose every call waits until the test settles it. */
function controlledConnect() {
  const calls: Array<{ resolve: (c: SshChain) => void; reject: (e: Error) => void }> = [];
  const called = new EventEmitter();
  const connect = () =>
    new Promise<SshChain>((resolve, reject) => {
      calls.push({ resolve, reject });
      called.emit('call');
    });
  const nextCall = async (count: number) => {
    while (calls.length < count) await once(called, 'call');
    return calls[count - 1] as (typeof calls)[number];
  };
  return { connect, calls, nextCall };
}

function recordingLogger(lines: Array<{ msg: string; fields: object }>): Logger {
  const record = (fields: object, msg: string) => lines.push({ msg, fields });
  const logger: Logger = {
    debug: record,
    info: record,
    warn: record,
    error: record,
    child: () => logger,
  };
  return logger;
}

/** A backoff so long that only an on-demand attempt can bring the tunnel back in a test. */
const HOUR = 3_600_000;
const refused = () => new PgTunnelError('ERR_SSH', 'connection refused');

describe('SshSession reconnecting on demand', () => {
  it('starts an attempt when a client arrives instead of waiting for the backoff', async () => {
    const { connect, nextCall } = controlledConnect();
    const lines: Array<{ msg: string; fields: object }> = [];
    const session = new SshSession({
      connect,
      description: 'joe@db:22',
      backoff: { initialMs: HOUR, maxMs: HOUR },
      log: recordingLogger(lines),
    });
    const first = new FakeChain();
    const started = session.start();
    (await nextCall(1)).resolve(first as unknown as SshChain);
    await started;

    first.drop(); // the immediate first attempt fails; the next is an hour away
    (await nextCall(2)).reject(refused());
    await once(session, 'retry-failed');

    const channel = session.openChannel('localhost', 5432, HOUR);
    (await nextCall(3)).resolve(new FakeChain() as unknown as SshChain);
    assert.ok(await channel);
    const back = lines.find((l) => l.msg.includes('re-established'));
    assert.equal((back?.fields as { trigger?: string } | undefined)?.trigger, 'client');
    session.close();
  });

  it('gives a storm of waiting clients one attempt at a time, repeated while they wait', async () => {
    const { connect, calls, nextCall } = controlledConnect();
    const session = new SshSession({
      connect,
      description: 'joe@db:22',
      backoff: { initialMs: HOUR, maxMs: HOUR },
      log: recordingLogger([]),
    });
    const first = new FakeChain();
    const started = session.start();
    (await nextCall(1)).resolve(first as unknown as SshChain);
    await started;

    first.drop();
    const attempt = await nextCall(2); // the immediate attempt, still running
    const clients = Array.from({ length: 50 }, () => session.openChannel('localhost', 5432, HOUR));
    assert.equal(calls.length, 2, 'fifty arriving clients started no attempt of their own');
    assert.equal(session.attemptsInFlight, 1);

    // It fails while they wait: the next attempt comes on demand, not after the hour.
    attempt.reject(refused());
    const again = await nextCall(3);
    assert.equal(calls.length, 3);
    again.resolve(new FakeChain() as unknown as SshChain);
    assert.equal((await Promise.all(clients)).length, 50);
    assert.equal(calls.length, 3);
    session.close();
  });
});
