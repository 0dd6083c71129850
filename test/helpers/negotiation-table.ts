// Reads test/fixtures/startup/negotiation.eval: conversations of a client's first bytes and
// the replies it must see, for the engine's unit test and the PostgreSQL 18 comparison.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeErrorFields } from '../../src/protocol/backend-error.js';
import {
  encodeCancelRequest,
  encodeGssEncRequest,
  encodeSslRequest,
  encodeStartupMessage,
} from '../../src/protocol/frontend.js';

export const NEGOTIATION_TABLE = fileURLToPath(
  new URL('../fixtures/startup/negotiation.eval', import.meta.url),
);

export type TableContext = 'tcp+ssl' | 'tcp' | 'unix';

export type TableStep =
  | { kind: 'send'; bytes: Buffer }
  /** TLS after 'S' (`direct: false`) or straight away; with ALPN postgresql or none. */
  | { kind: 'tls'; direct: boolean; alpn: boolean }
  | { kind: 'eof' };

export interface Conversation {
  steps: TableStep[];
  /** Replies written as in the table: S, N, close, startup, cancel, fatal CODE "MESSAGE". */
  replies: string[];
}

export interface TableRow extends Conversation {
  /** negotiation.eval:LINE, for assertion messages. */
  where: string;
  context: TableContext;
  /** The row as written. */
  text: string;
  /** What PostgreSQL 18 does where pgtunnel deliberately differs. */
  postgres?: Conversation & { because: string };
}

/** The row as the table shows it, for test names. */
export function describeRow(row: TableRow): string {
  return `${row.where}: ${row.text}`;
}

const PACKETS: Record<string, () => Buffer> = {
  ssl: encodeSslRequest,
  gss: encodeGssEncRequest,
  startup: () =>
    encodeStartupMessage([
      ['user', 'postgres'],
      ['database', 'postgres'],
    ]),
  cancel: () => encodeCancelRequest(1, Buffer.from('cafecafe', 'hex')),
};

/** Words separated by blanks; a word may be a JSON string holding blanks. */
function words(line: string): string[] {
  return [...line.matchAll(/"(?:[^"\\]|\\.)*"|\S+/g)].map((m) => m[0]);
}

function packet(word: string, where: string): Buffer {
  if (word.startsWith('x:')) return Buffer.from(word.slice(2), 'hex');
  const make = PACKETS[word];
  assert.ok(make, `${where}: unknown step ${word}`);
  return make();
}

function step(word: string, where: string): TableStep {
  switch (word) {
    case 'tls':
      return { kind: 'tls', direct: false, alpn: true };
    case 'tls-noalpn':
      return { kind: 'tls', direct: false, alpn: false };
    case 'direct-tls':
      return { kind: 'tls', direct: true, alpn: true };
    case 'direct-tls-noalpn':
      return { kind: 'tls', direct: true, alpn: false };
    case 'eof':
      return { kind: 'eof' };
    default:
      return { kind: 'send', bytes: Buffer.concat(word.split('+').map((w) => packet(w, where))) };
  }
}

function replies(list: string[], where: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < list.length; i++) {
    const word = list[i] ?? '';
    if (word === 'fatal') {
      const code = list[i + 1] ?? '';
      const message = list[i + 2] ?? '';
      assert.match(code, /^[0-9A-Z]{5}$/, `${where}: SQLSTATE after fatal`);
      assert.ok(message.startsWith('"'), `${where}: message after the SQLSTATE`);
      out.push(fatalReply(code, JSON.parse(message) as string));
      i += 2;
    } else if (word === 'fatal-v2') {
      out.push(`fatal-v2 ${list[i + 1] ?? ''}`);
      i += 1;
    } else {
      assert.ok(['S', 'N', 'close', 'startup', 'cancel'].includes(word), `${where}: ${word}`);
      out.push(word);
    }
  }
  return out;
}

/** A FATAL as the table writes it. */
export function fatalReply(sqlstate: string, message: string): string {
  return `fatal ${sqlstate} ${JSON.stringify(message)}`;
}

function conversation(list: string[], where: string): Conversation {
  const arrow = list.indexOf('=>');
  assert.ok(arrow > 0, `${where}: expected STEP... => REPLY...`);
  return {
    steps: list.slice(0, arrow).map((w) => step(w, where)),
    replies: replies(list.slice(arrow + 1), where),
  };
}

export function readNegotiationTable(path = NEGOTIATION_TABLE): TableRow[] {
  const rows: TableRow[] = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((text, index) => {
      if (/^\s*(#|$)/.test(text)) return;
      const where = `negotiation.eval:${index + 1}`;
      const [context, ...rest] = words(text);
      assert.ok(
        context === 'tcp+ssl' || context === 'tcp' || context === 'unix',
        `${where}: context`,
      );
      const pg = rest.indexOf('pg:');
      const ours = conversation(pg === -1 ? rest : rest.slice(0, pg), where);
      const row: TableRow = { where, context, text: text.trim(), ...ours };
      if (pg !== -1) {
        const because = rest.indexOf('because');
        assert.ok(because > pg && because === rest.length - 2, `${where}: pg: … because "WHY"`);
        row.postgres = {
          ...conversation(rest.slice(pg + 1, because), where),
          because: JSON.parse(rest[because + 1] ?? '""') as string,
        };
      }
      rows.push(row);
    });
  return rows;
}

/** The replies in bytes a server wrote: one-byte answers and ErrorResponses, as table words. */
export function replyWords(bytes: Buffer): string[] {
  const out: string[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const type = String.fromCharCode(bytes[offset] ?? 0);
    if (type === 'E' && offset + 5 <= bytes.length) {
      const length = bytes.readUInt32BE(offset + 1);
      const fields = decodeErrorFields(bytes.subarray(offset + 5, offset + 1 + length));
      assert.equal(fields.get('S'), 'FATAL', 'a refusal is FATAL');
      out.push(fatalReply(fields.get('C') ?? '', fields.get('M') ?? ''));
      offset += 1 + length;
    } else {
      out.push(type);
      offset += 1;
    }
  }
  return out;
}
