// Runs test/fixtures/startup/negotiation.eval against the engine: every row is a conversation
// of a client's first bytes, and the replies the engine must choose, step by step.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  describeRow,
  readNegotiationTable,
  replyWords,
  type TableContext,
  type TableStep,
} from '../../test/helpers/negotiation-table.js';
import {
  INITIAL_NEGOTIATION,
  type NegotiationAction,
  type NegotiationState,
  negotiationStep,
  StartupStep,
  tlsEstablished,
} from './negotiation.js';

/** The first bytes of a TLS ClientHello record. */
const CLIENT_HELLO_START = Buffer.from('160301', 'hex');

/** Drives the engine as a socket driver would, and records what the client would see. */
function converse(context: TableContext, steps: TableStep[]): string[] {
  const tlsAvailable = context === 'tcp+ssl';
  let state: NegotiationState = INITIAL_NEGOTIATION;
  let buffered = Buffer.alloc(0);
  const seen: string[] = [];
  let ended = false;

  const apply = (action: NegotiationAction): 'wait' | 'again' => {
    switch (action.kind) {
      case 'read-more':
      case 'start-direct-tls':
        return 'wait';
      case 'answer':
        seen.push(action.reply.toString('latin1'));
        buffered = buffered.subarray(action.consumed);
        return action.startTls ? 'wait' : 'again';
      case 'refuse':
        seen.push(...replyWords(action.reply));
        ended = true;
        return 'wait';
      case 'close':
      case 'cancel':
      case 'startup':
        seen.push(action.kind);
        ended = true;
        return 'wait';
    }
  };
  const run = () => {
    for (;;) {
      const result = negotiationStep(state, { tlsAvailable }, buffered);
      state = result.state;
      if (apply(result.action) === 'wait') return;
    }
  };

  for (const step of steps) {
    assert.equal(ended, false, 'a step after the server ended the conversation');
    if (step.kind === 'send') {
      buffered = Buffer.concat([buffered, step.bytes]);
      run();
    } else if (step.kind === 'eof') {
      // A half packet, or a handshake never made: PostgreSQL closes without a word.
      seen.push('close');
      ended = true;
    } else {
      if (step.direct) {
        buffered = CLIENT_HELLO_START;
        run();
        if (ended) continue;
        buffered = Buffer.alloc(0); // handed to TLS
      }
      assert.equal(state.step, StartupStep.AwaitingTlsHandshake, 'TLS without an answer S');
      const result = tlsEstablished(state, { alpnProtocol: step.alpn ? 'postgresql' : false });
      state = result.state;
      apply(result.action);
    }
  }
  return seen;
}

describe('startup negotiation (negotiation.eval)', () => {
  for (const row of readNegotiationTable()) {
    test(describeRow(row), () => {
      assert.deepEqual(converse(row.context, row.steps), row.replies);
    });
  }

  test('a packet split over many reads is answered once it is whole', () => {
    const request = Buffer.from('0000000804d2162f', 'hex');
    let state: NegotiationState = INITIAL_NEGOTIATION;
    for (let end = 1; end < request.length; end++) {
      const result = negotiationStep(state, { tlsAvailable: true }, request.subarray(0, end));
      assert.equal(result.action.kind, 'read-more');
      state = result.state;
    }
    const result = negotiationStep(state, { tlsAvailable: true }, request);
    assert.equal(result.action.kind, 'answer');
  });

  test('bytes after a StartupMessage are handed on, not refused', () => {
    const startup = Buffer.from('00000017000300007573657200706f7374677265730000', 'hex');
    const password = Buffer.from('7000000009736563726574', 'hex');
    const { action } = negotiationStep(
      INITIAL_NEGOTIATION,
      { tlsAvailable: false },
      Buffer.concat([startup, password]),
    );
    assert.equal(action.kind, 'startup');
    assert.ok(action.kind === 'startup' && action.rest.equals(password));
  });
});
