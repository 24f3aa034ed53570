/**
 * A Struct that comes again and again with the same bytes: the Composition step's input, which
 * Crossplane sends unchanged with every RunFunction of every XR the Composition composes. The few
 * most recent distinct ones are kept decoded, and deep-frozen, since every request that carries
 * the same bytes gets the same object: what reads it (parseCatalog) can then keep its reading.
 * Comparing the bytes costs a memcmp; decoding them again costs their every value.
 */
import type { Reader } from './reader.js';
import { decodeStruct, type JsonObject } from './struct-decoder.js';

/** Compositions a function serves at once, give or take: each has its own input. */
const KEPT = 8;

const recent: { bytes: Buffer; value: Readonly<JsonObject> }[] = [];

export function decodeSharedStruct(reader: Reader, end: number): Readonly<JsonObject> {
  const bytes = reader.buf.subarray(reader.pos, end);
  const at = recent.findIndex((entry) => entry.bytes.equals(bytes));
  if (at >= 0) {
    const [entry] = recent.splice(at, 1);
    recent.unshift(entry!);
    reader.pos = end;
    return entry!.value;
  }
  const value = deepFreeze(decodeStruct(reader, end));
  // A copy: a slice would keep the whole request's buffer alive.
  recent.unshift({ bytes: Buffer.from(bytes), value });
  if (recent.length > KEPT) recent.pop();
  return value;
}

/** Iterative, as the decoder is: a Struct may be nested deeper than the call stack goes. */
function deepFreeze(root: JsonObject): Readonly<JsonObject> {
  const pending: object[] = [root];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    Object.freeze(next);
    for (const value of Object.values(next)) {
      if (typeof value === 'object' && value !== null) pending.push(value);
    }
  }
  return root;
}
