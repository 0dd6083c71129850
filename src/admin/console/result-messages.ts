// The backend messages of a simple-query reply, as the admin console sends them: RowDescription,
// DataRow, CommandComplete, EmptyQueryResponse and ReadyForQuery, all in text format. Pure.
// https://www.postgresql.org/docs/current/protocol-message-formats.html

/** Column types the console uses: PostgreSQL type OIDs and sizes (pg_type.typlen). */
export const ColumnType = {
  text: { oid: 25, size: -1 },
  int4: { oid: 23, size: 4 },
  int8: { oid: 20, size: 8 },
  bool: { oid: 16, size: 1 },
  timestamptz: { oid: 1184, size: 8 },
} as const;

export type ColumnTypeName = keyof typeof ColumnType;

export interface Column {
  name: string;
  type: ColumnTypeName;
}

/** A cell in text form; null is SQL NULL. */
export type Cell = string | null;

/** What one statement returns: rows under columns, and the CommandComplete tag. */
export interface ResultSet {
  columns: readonly Column[];
  rows: readonly (readonly Cell[])[];
  tag: string;
}

function message(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeUInt32BE(4 + body.length, 1);
  return Buffer.concat([header, body]);
}

function cstring(text: string): Buffer {
  return Buffer.from(`${text}\0`, 'utf8');
}

export function encodeRowDescription(columns: readonly Column[]): Buffer {
  const parts: Buffer[] = [];
  const count = Buffer.alloc(2);
  count.writeInt16BE(columns.length, 0);
  parts.push(count);
  for (const column of columns) {
    const type = ColumnType[column.type];
    const field = Buffer.alloc(18);
    field.writeInt32BE(0, 0); // table OID: not a table column
    field.writeInt16BE(0, 4); // attribute number
    field.writeInt32BE(type.oid, 6);
    field.writeInt16BE(type.size, 10);
    field.writeInt32BE(-1, 12); // type modifier
    field.writeInt16BE(0, 16); // text format
    parts.push(cstring(column.name), field);
  }
  return message('T', Buffer.concat(parts));
}

export function encodeDataRow(cells: readonly Cell[]): Buffer {
  const parts: Buffer[] = [];
  const count = Buffer.alloc(2);
  count.writeInt16BE(cells.length, 0);
  parts.push(count);
  for (const cell of cells) {
    const length = Buffer.alloc(4);
    if (cell === null) {
      length.writeInt32BE(-1, 0);
      parts.push(length);
      continue;
    }
    const bytes = Buffer.from(cell, 'utf8');
    length.writeInt32BE(bytes.length, 0);
    parts.push(length, bytes);
  }
  return message('D', Buffer.concat(parts));
}

export function encodeCommandComplete(tag: string): Buffer {
  return message('C', cstring(tag));
}

export function encodeEmptyQueryResponse(): Buffer {
  return message('I', Buffer.alloc(0));
}

/** ReadyForQuery; the console has no transactions, so it is always idle ('I'). */
export function encodeReadyForQuery(): Buffer {
  return message('Z', Buffer.from('I', 'latin1'));
}

/** A whole result: RowDescription (when it has columns), a DataRow per row, CommandComplete. */
export function encodeResultSet(result: ResultSet): Buffer {
  const parts: Buffer[] = [];
  if (result.columns.length > 0) parts.push(encodeRowDescription(result.columns));
  for (const row of result.rows) parts.push(encodeDataRow(row));
  parts.push(encodeCommandComplete(result.tag));
  return Buffer.concat(parts);
}
