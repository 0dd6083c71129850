// The sslmode fallbacks as a table: for each mode and transport, a run of events on one
// address and the decisions libpq makes (fe-connect.c, checked by connect-sslmode-matrix
// against psql).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Attempt, type AttemptEvent, firstAttempt, nextAttempt } from './attempts.js';
import { SSLMODE_RULES, type SslMode } from './sslmode.js';

type Row = [mode: SslMode, transport: 'tcp' | 'unix', events: AttemptEvent[], expected: string];

/** Decisions written as: first method, then one word per event (retry:M, plaintext, fail, done). */
const ROWS: Row[] = [
  ['disable', 'tcp', ['ok'], 'plaintext done'],
  ['disable', 'tcp', ['error-response'], 'plaintext done'],
  ['allow', 'tcp', ['ok'], 'plaintext done'],
  ['allow', 'tcp', ['error-response', 'ok'], 'plaintext retry:tls done'],
  ['allow', 'tcp', ['error-response', 'refused'], 'plaintext retry:tls fail'],
  ['allow', 'tcp', ['error-response', 'tls-failed'], 'plaintext retry:tls fail'],
  ['allow', 'tcp', ['error-response', 'error-response'], 'plaintext retry:tls done'],
  ['prefer', 'tcp', ['ok'], 'tls done'],
  ['prefer', 'tcp', ['refused', 'ok'], 'tls plaintext done'],
  ['prefer', 'tcp', ['refused', 'error-response'], 'tls plaintext done'],
  ['prefer', 'tcp', ['tls-failed', 'ok'], 'tls retry:plaintext done'],
  ['prefer', 'tcp', ['error-response', 'ok'], 'tls retry:plaintext done'],
  ['prefer', 'tcp', ['error-response', 'error-response'], 'tls retry:plaintext done'],
  ['prefer', 'unix', ['ok'], 'plaintext done'],
  ['require', 'tcp', ['ok'], 'tls done'],
  ['require', 'tcp', ['refused'], 'tls fail'],
  ['require', 'tcp', ['tls-failed'], 'tls fail'],
  ['require', 'tcp', ['error-response'], 'tls done'],
  ['require', 'unix', ['ok'], 'plaintext done'],
  ['verify-ca', 'tcp', ['refused'], 'tls fail'],
  ['verify-ca', 'tcp', ['tls-failed'], 'tls fail'],
  ['verify-full', 'tcp', ['ok'], 'tls done'],
  ['verify-full', 'tcp', ['refused'], 'tls fail'],
  ['verify-full', 'tcp', ['tls-failed'], 'tls fail'],
  ['verify-full', 'unix', ['ok'], 'plaintext done'],
];

function run(mode: SslMode, transport: 'tcp' | 'unix', events: AttemptEvent[]): string {
  const rule = SSLMODE_RULES[mode];
  let attempt: Attempt = firstAttempt(rule, transport === 'unix');
  const words: string[] = [attempt.method];
  for (const event of events) {
    const decision = nextAttempt(rule, attempt, event);
    if (decision.kind === 'retry') {
      attempt = decision.attempt;
      words.push(`retry:${attempt.method}`);
    } else if (decision.kind === 'continue-plaintext') {
      attempt = decision.attempt;
      words.push('plaintext');
    } else {
      words.push(decision.kind);
      break;
    }
  }
  return words.join(' ');
}

describe('nextAttempt (libpq sslmode fallbacks)', () => {
  for (const [mode, transport, events, expected] of ROWS) {
    it(`${mode} over ${transport}: ${events.join(', ')} → ${expected}`, () => {
      assert.equal(run(mode, transport, events), expected);
    });
  }
});
