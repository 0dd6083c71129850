// The worker channel is JSON: messages that carry Buffers and RegExps (a snapshot, ticket keys)
// must come out of a JSON round trip (what the IPC channel does) exactly as they went in, and
// the small messages must travel as they are.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packForWorker, type ToWorker, unpackInWorker } from './worker-messages.js';

/** What the IPC channel does to a message with the default serialization. */
const overJson = <T>(message: T): T => JSON.parse(JSON.stringify(message)) as T;

describe('worker messages over a JSON channel', () => {
  it('ticket keys arrive as the same Buffers', () => {
    const ticketKeys = { current: Buffer.alloc(48, 1), previous: Buffer.alloc(48, 2), rotation: 3 };
    const sent: ToWorker = { type: 'pgtunnel:ticket-keys', ticketKeys };
    const received = unpackInWorker<ToWorker>(overJson(packForWorker(sent)));
    assert.deepEqual(received, sent);
    assert.ok(
      received.type === 'pgtunnel:ticket-keys' && Buffer.isBuffer(received.ticketKeys.current),
    );
  });

  it('a snapshot keeps its Buffers and RegExps', () => {
    const snapshot = {
      generation: 7,
      tls: { cert: Buffer.from('certificate'), key: Buffer.from('key') },
      hba: { rules: [{ line: 3, user: /^app_.*$/ }] },
    };
    const sent = { type: 'pgtunnel:prepare', snapshot } as unknown as ToWorker;
    const received = unpackInWorker<ToWorker>(overJson(packForWorker(sent)));
    assert.deepEqual(received, sent);
    const rules = (received as unknown as { snapshot: typeof snapshot }).snapshot.hba.rules;
    assert.ok(rules[0]?.user instanceof RegExp && rules[0].user.test('app_x'));
  });

  it('small messages are not packed', () => {
    const sent: ToWorker = { type: 'pgtunnel:commit', generation: 2 };
    assert.equal(packForWorker(sent), sent);
    assert.deepEqual(unpackInWorker<ToWorker>(overJson(packForWorker(sent))), sent);
  });
});
