// The few extended-query messages the gateway's own queries need (Parse, Bind, Execute, Sync,
// Terminate) and DataRow decoding. Parameters and results use the text format.
// https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-EXT-QUERY

/** Backend message types of an extended query's replies. */
export const QueryReply = {
  ParseComplete: 0x31, // 1
  BindComplete: 0x32, // 2
  DataRow: 0x44, // D
  CommandComplete: 0x43, // C
  EmptyQueryResponse: 0x49, // I
  PortalSuspended: 0x73, // s
} as const;

function typed(type: string, parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const message = Buffer.alloc(5 + body.length);
  message.write(type, 0, 'latin1');
  message.writeUInt32BE(4 + body.length, 1);
  body.copy(message, 5);
  return message;
}

function int16(value: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeInt16BE(value, 0);
  return bytes;
}

function int32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeInt32BE(value, 0);
  return bytes;
}

/**
 * Parse + Bind + Execute + Sync for the unnamed statement and portal: one round trip, and the
 * parameters travel apart from the SQL text, so no quoting is involved. Parameter types are
 * left for the server to infer (0).
 */
export function encodeExtendedQuery(sql: string, parameters: ReadonlyArray<string | null>): Buffer {
  const parse = typed('P', [
    Buffer.from('\0', 'utf8'),
    Buffer.from(`${sql}\0`, 'utf8'),
    int16(parameters.length),
    ...parameters.map(() => int32(0)),
  ]);
  const values = parameters.map((value) => {
    if (value === null) return int32(-1);
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([int32(bytes.length), bytes]);
  });
  const bind = typed('B', [
    Buffer.from('\0\0', 'utf8'), // portal, statement
    int16(0), // all parameters in text format
    int16(parameters.length),
    ...values,
    int16(0), // all results in text format
  ]);
  const execute = typed('E', [Buffer.from('\0', 'utf8'), int32(0)]);
  return Buffer.concat([parse, bind, execute, typed('S', [])]);
}

export function encodeTerminate(): Buffer {
  return typed('X', []);
}

/** A DataRow body's columns as text (null for SQL NULL). Throws RangeError when malformed. */
export function decodeDataRow(body: Buffer): Array<string | null> {
  if (body.length < 2) throw new RangeError('malformed DataRow');
  const count = body.readInt16BE(0);
  const columns: Array<string | null> = [];
  let offset = 2;
  for (let i = 0; i < count; i++) {
    if (offset + 4 > body.length) throw new RangeError('malformed DataRow');
    const length = body.readInt32BE(offset);
    offset += 4;
    if (length === -1) {
      columns.push(null);
      continue;
    }
    if (length < 0 || offset + length > body.length) throw new RangeError('malformed DataRow');
    columns.push(body.toString('utf8', offset, offset + length));
    offset += length;
  }
  return columns;
}
