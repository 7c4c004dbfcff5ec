/*
 * One-dimensional arrays in PostgreSQL's binary wire format. The driver sends a Buffer parameter
 * as binary, so the server takes each element by its length prefix: nothing is quoted or escaped.
 * In the text format `{"...","..."}` the driver escapes every quote of a JSON text and the server
 * unescapes it again; a JSON array instead has the server parse the whole batch before it can
 * split it. Element bytes go to the element type's own receive function (json_recv validates the
 * JSON and keeps its exact text, as json_in does).
 */

/** Header: number of dimensions, has-nulls flag, element type, then the one dimension's length and lower bound. */
const HEADER_BYTES = 20;

/**
 * Encodes `items` as an array of the element type `oid` (pg.types.builtins), strings as UTF-8.
 * The oid must be the type the statement expects: the server refuses an array of another type.
 */
export const binaryArray = (oid: number, items: readonly (string | Buffer)[]): Buffer => {
  let size = HEADER_BYTES;
  for (const item of items) size += 4 + (typeof item === 'string' ? Buffer.byteLength(item) : item.length);
  const out = Buffer.allocUnsafe(size);
  out.writeInt32BE(1, 0);
  out.writeInt32BE(0, 4);
  out.writeUInt32BE(oid, 8);
  out.writeInt32BE(items.length, 12);
  out.writeInt32BE(1, 16);
  let offset = HEADER_BYTES;
  for (const item of items) {
    const length = typeof item === 'string' ? out.write(item, offset + 4) : item.copy(out, offset + 4);
    out.writeInt32BE(length, offset);
    offset += 4 + length;
  }
  return out;
};
