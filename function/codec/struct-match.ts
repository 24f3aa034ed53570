/**
 * Whether google.protobuf.Struct bytes are a value already held, without decoding them: for an
 * input sent again and again (a Composition step's input, with every call for every XR), but never
 * as the same bytes, since Go writes a Struct's entries in random order. Walks the bytes once, with
 * its own stack of frames as values nest at any depth, and builds nothing: keys come from the
 * reader's strings read before, and string values are compared with the bytes.
 */
import { CodecError } from './errors.js';
import { Frames } from './frames.js';
import type { Reader } from './reader.js';
import { TAG } from './struct-tags.js';

/** A Struct: slot is the object expected, key its ranks, counter its keys not yet seen. */
const STRUCT = 0;
/** A ListValue: slot is the list expected, counter the index of the next element. */
const LIST = 1;

/** Matching never nests (it is synchronous), so one set of frames serves every call. */
const f = new Frames();

/**
 * The keys of each expected object, by their rank in it. Expected values are deep-frozen (their
 * keys never change) and matched call after call: each is listed once.
 */
const ranks = new WeakMap<object, Map<string, number>>();

function ranksOf(expected: object): Map<string, number> {
  let keys = ranks.get(expected);
  if (keys === undefined) {
    keys = new Map();
    // Plain JSON objects inherit no enumerable keys: for…in sees exactly their own.
    for (const key in expected) if (Object.hasOwn(expected, key)) keys.set(key, keys.size);
    if (Object.isFrozen(expected)) ranks.set(expected, keys);
  }
  return keys;
}

/**
 * A key sent twice is no match. seen[depth][rank] is the number of the Struct at that depth that
 * last had the key of that rank; every Struct opened gets a new number, so nothing is cleared.
 */
let seen: Uint32Array[] = [];
const KEPT_MARKS = 4096;
/** By depth, the number of the Struct open at it. */
const numbers: number[] = [];
let opened = 0;

/**
 * True if the Struct from the reader's position to `end` decodes (decodeStruct) to a value equal
 * to `expected`: the same keys, in any order, and the same values (numbers by Object.is), lists in
 * order. Anything decodeStruct would read another way (a key twice, a Value of no kind or of two,
 * an entry without its key and value in that order, an unknown field) or refuse is no match, and
 * leaves decoding to decodeStruct. Leaves the reader anywhere.
 */
export function matchStruct(reader: Reader, end: number, expected: object): boolean {
  try {
    return match(reader, end, expected);
  } catch (error) {
    // Bytes decodeStruct would refuse: it says why.
    if (error instanceof CodecError) return false;
    throw error;
  } finally {
    f.reset();
    // Before the numbers run out, clean marks; and no large ones kept for the next call.
    if (opened > 0xf0000000 || seen.length > KEPT_MARKS) {
      seen = [];
      opened = 0;
    }
    for (let depth = 0; depth < seen.length; depth++) {
      if ((seen[depth]?.length ?? 0) > KEPT_MARKS) seen[depth] = new Uint32Array(8);
    }
  }
}

function match(reader: Reader, end: number, expected: object): boolean {
  open(STRUCT, end, expected);
  for (;;) {
    const depth = f.depth;
    const frameEnd = f.offsets[depth]!;
    const expectedHere = f.slots[depth] as Record<string, unknown> | unknown[];
    const isStruct = f.kinds[depth] === STRUCT;
    if (reader.pos >= frameEnd) {
      if (reader.pos > frameEnd) return false;
      // Every key seen, or every element.
      const left = isStruct
        ? f.counters[depth]!
        : (expectedHere as unknown[]).length - f.counters[depth]!;
      if (left !== 0) return false;
      if (depth === 0) return true;
      f.pop();
      continue;
    }
    if (reader.tag() !== TAG.FIRST) return false;
    let valueEnd: number;
    let value: unknown;
    if (isStruct) {
      const entryEnd = reader.delimited(frameEnd);
      let tag = reader.tag();
      let key = '';
      if (tag === TAG.FIRST) {
        key = reader.string(entryEnd);
        tag = reader.tag();
      }
      if (tag !== TAG.ENTRY_VALUE) return false;
      valueEnd = reader.delimited(entryEnd);
      const rank = (f.keys[depth] as Map<string, number>).get(key);
      if (valueEnd !== entryEnd || rank === undefined) return false;
      const marks = seen[depth]!;
      if (marks[rank] === numbers[depth]) return false;
      marks[rank] = numbers[depth]!;
      f.counters[depth]!--;
      value = (expectedHere as Record<string, unknown>)[key];
    } else {
      valueEnd = reader.delimited(frameEnd);
      const index = f.counters[depth]!;
      if (index >= (expectedHere as unknown[]).length) return false;
      f.counters[depth] = index + 1;
      value = (expectedHere as unknown[])[index];
    }
    if (!matchValue(reader, valueEnd, value)) return false;
  }
}

/** One Value of exactly one kind, to `end`: a scalar compared, a Struct or list opened. */
function matchValue(reader: Reader, end: number, expected: unknown): boolean {
  if (reader.pos >= end) return false;
  switch (reader.tag()) {
    case TAG.NULL:
      reader.varint();
      return expected === null && reader.pos === end;
    case TAG.NUMBER:
      return Object.is(reader.double(end), expected) && reader.pos === end;
    case TAG.STRING:
      return typeof expected === 'string' && reader.isString(end, expected) && reader.pos === end;
    case TAG.BOOL:
      return reader.bool() === expected && reader.pos === end;
    case TAG.STRUCT:
      if (typeof expected !== 'object' || expected === null || Array.isArray(expected)) {
        return false;
      }
      return reader.delimited(end) === end && open(STRUCT, end, expected);
    case TAG.LIST:
      return Array.isArray(expected) && reader.delimited(end) === end && open(LIST, end, expected);
    default:
      return false;
  }
}

function open(kind: number, end: number, expected: object): true {
  if (kind === LIST) {
    f.push(LIST, end, expected, undefined, 0);
    return true;
  }
  const keys = ranksOf(expected);
  f.push(STRUCT, end, expected, keys, keys.size);
  const depth = f.depth;
  numbers[depth] = ++opened;
  let marks = seen[depth];
  if (marks === undefined || marks.length < keys.size) {
    marks = new Uint32Array(Math.max(keys.size, 2 * (marks?.length ?? 8)));
    seen[depth] = marks;
  }
  return true;
}
