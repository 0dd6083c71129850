// The boundary tracker over whole messages, messages split at every byte, and several
// messages in one chunk.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageBoundary } from './message-boundary.js';

const message = (type: string, body: Buffer) => {
  const header = Buffer.alloc(5);
  header.write(type, 0);
  header.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
};
const readyForQuery = message('Z', Buffer.from('I'));
const dataRow = message('D', Buffer.alloc(300, 1));

describe('MessageBoundary', () => {
  it('is at a boundary after whole messages, in one chunk or many', () => {
    const tracker = new MessageBoundary();
    assert.equal(tracker.atBoundary, true);
    tracker.feed(Buffer.concat([dataRow, dataRow, readyForQuery]));
    assert.equal(tracker.atBoundary, true);
  });

  it('is not at a boundary inside a header or a body, at any split', () => {
    const stream = Buffer.concat([dataRow, readyForQuery]);
    for (let split = 1; split < stream.length; split++) {
      const tracker = new MessageBoundary();
      tracker.feed(stream.subarray(0, split));
      assert.equal(tracker.atBoundary, split === dataRow.length, `split at ${split}`);
      tracker.feed(stream.subarray(split));
      assert.equal(tracker.atBoundary, true, `after split at ${split}`);
    }
  });
});
