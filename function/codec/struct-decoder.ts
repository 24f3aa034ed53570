/**
 * google.protobuf.Struct bytes straight to plain JS values, at any nesting depth: the decoder
 * keeps its own stack of frames instead of recursing, so a value nested a million levels deep
 * costs memory, never the call stack.
 *
 * It gives what the SDK's `Struct.unwrap(Struct.decode(…))` gives, except that a key such as
 * `__proto__` becomes an own property instead of replacing the object's prototype.
 */
import { setOwn } from '../../common/objects.js';
import { DecodeError, keySegment } from './errors.js';
import { Frames, resized } from './frames.js';
import type { Reader } from './reader.js';
import { TAG } from './struct-tags.js';

export type JsonObject = Record<string, unknown>;

// Frames, by the message being read. A frame's result goes to the frame below it: an entry's
// (or a Value's read in its place, see below) into the Struct under its key, a Value's onto the
// list, a Value's to its entry, a Struct's or list's to its Value.
/** google.protobuf.Struct: slot is the object being filled. */
const STRUCT = 0;
/** Struct.FieldsEntry: key is the key read, slot the value. */
const ENTRY = 1;
/** google.protobuf.Value: slot is the value so far, counter its rank. */
const VALUE = 2;
/** google.protobuf.ListValue: its elements are on the value stack from the frame's mark on. */
const LIST = 3;

// A Value should carry one kind; given several, the SDK's Value.unwrap takes the first of this
// order (the last occurrence of that kind), and so do we.
const RANK_STRING = 0;
const RANK_NUMBER = 1;
const RANK_BOOL = 2;
const RANK_STRUCT = 3;
const RANK_LIST = 4;
const RANK_NULL = 5;
const RANK_NONE = 6;

class DecoderFrames extends Frames {
  /** The height of the value stack when the frame began. */
  marks = new Uint32Array(this.kinds.length);
  /**
   * Elements of the lists being read. A list becomes an array of exactly its length only when
   * it is complete (pushing onto an array as it grows leaves up to 16 empty slots behind, which
   * tripled the heap a list of one-element lists takes).
   */
  values: unknown[] = [];
  top = 0;
  private highest = 0;

  override push(kind: number, offset: number, slot: unknown, key: unknown, counter: number): void {
    super.push(kind, offset, slot, key, counter);
    this.marks[this.depth] = this.top;
  }

  /** Turns the top frame into another kind, for a message that is its last field. */
  become(kind: number, slot: unknown, counter: number): void {
    this.kinds[this.depth] = kind;
    this.slots[this.depth] = slot;
    this.counters[this.depth] = counter;
  }

  pushValue(value: unknown): void {
    this.values[this.top++] = value;
    if (this.top > this.highest) this.highest = this.top;
  }

  /** The elements of the list at `depth`, as an array, off the value stack. */
  takeList(depth: number): unknown[] {
    const mark = this.marks[depth]!;
    const list = this.values.slice(mark, this.top);
    this.top = mark;
    return list;
  }

  override reset(): void {
    super.reset();
    if (this.highest > KEPT_VALUES) this.values = [];
    else this.values.fill(undefined, 0, this.highest);
    this.top = 0;
    this.highest = 0;
  }

  protected override resize(size: number): void {
    super.resize(size);
    this.marks = resized(this.marks, new Uint32Array(size));
  }
}

const KEPT_VALUES = 4096;

/** Decoding never nests (it is synchronous), so one set of frames serves every call. */
const f = new DecoderFrames();

/** Reads a Struct's fields from the reader's position to `end`. */
export function decodeStruct(reader: Reader, end: number): JsonObject {
  const root: JsonObject = {};
  f.push(STRUCT, end, root, undefined, 0);
  try {
    for (;;) {
      const depth = f.depth;
      const frameEnd = f.offsets[depth]!;
      if (reader.pos >= frameEnd) {
        if (reader.pos > frameEnd) {
          throw new DecodeError(`a field runs past the end of its message at byte ${frameEnd}`);
        }
        if (depth === 0) return root;
        complete(depth);
        continue;
      }
      const tag = reader.tag();
      switch (f.kinds[depth]) {
        case STRUCT:
          if (tag === TAG.FIRST) f.push(ENTRY, reader.delimited(frameEnd), undefined, undefined, 0);
          else reader.skip(tag, frameEnd);
          break;
        case ENTRY:
          if (tag === TAG.FIRST) f.keys[depth] = reader.string(frameEnd);
          else if (tag === TAG.ENTRY_VALUE) {
            const valueEnd = reader.delimited(frameEnd);
            // The entry's last field (as always, but for odd writers): the entry is its value.
            if (valueEnd === frameEnd) f.become(VALUE, undefined, RANK_NONE);
            else f.push(VALUE, valueEnd, undefined, undefined, RANK_NONE);
          } else reader.skip(tag, frameEnd);
          break;
        case LIST:
          if (tag === TAG.FIRST) {
            f.push(VALUE, reader.delimited(frameEnd), undefined, undefined, RANK_NONE);
          } else reader.skip(tag, frameEnd);
          break;
        default:
          readValueField(reader, tag, depth, frameEnd);
      }
    }
  } catch (error) {
    if (error instanceof DecodeError) addPath(error);
    throw error;
  } finally {
    f.reset();
  }
}

function readValueField(reader: Reader, tag: number, depth: number, frameEnd: number): void {
  switch (tag) {
    case TAG.NULL:
      reader.varint();
      return offer(depth, RANK_NULL, null);
    case TAG.NUMBER:
      return offer(depth, RANK_NUMBER, reader.double(frameEnd));
    case TAG.STRING:
      return offer(depth, RANK_STRING, reader.string(frameEnd));
    case TAG.BOOL:
      return offer(depth, RANK_BOOL, reader.bool());
    case TAG.STRUCT:
      return open(STRUCT, RANK_STRUCT, {}, reader.delimited(frameEnd), frameEnd);
    case TAG.LIST:
      return open(LIST, RANK_LIST, undefined, reader.delimited(frameEnd), frameEnd);
    default:
      reader.skip(tag, frameEnd);
  }
}

/** A Struct or list in the Value on top: read in the Value's place when it is what it unwraps to. */
function open(kind: number, rank: number, slot: unknown, end: number, valueEnd: number): void {
  if (end === valueEnd && rank <= f.counters[f.depth]!) f.become(kind, slot, 0);
  else f.push(kind, end, slot, undefined, 0);
}

/** A Value's kind: kept if it ranks at least as high as what the Value carried before. */
function offer(depth: number, rank: number, value: unknown): void {
  if (rank <= f.counters[depth]!) {
    f.counters[depth] = rank;
    f.slots[depth] = value;
  }
}

/** Pops a finished frame into the one below. */
function complete(depth: number): void {
  const kind = f.kinds[depth];
  let result = f.slots[depth];
  if (kind === LIST) result = f.takeList(depth);
  else if (kind === VALUE && f.counters[depth] === RANK_NONE) result = undefined;
  const key = (f.keys[depth] as string | undefined) ?? '';
  f.pop();
  const below = depth - 1;
  switch (f.kinds[below]) {
    case STRUCT:
      // An entry without a value is left out, as the SDK does.
      if (result !== undefined) setOwn(f.slots[below] as object, key, result);
      break;
    case LIST:
      // A Value without a kind stays in a list as undefined, as the SDK has it.
      f.pushValue(result);
      break;
    case ENTRY:
      f.slots[below] = result;
      break;
    default:
      offer(below, kind === STRUCT ? RANK_STRUCT : RANK_LIST, result);
  }
}

/** Where in the Struct the error happened: keys of entries, indexes in lists. */
function addPath(error: DecodeError): void {
  for (let depth = f.depth; depth > 0; depth--) {
    const key = f.keys[depth] as string | undefined;
    if (f.kinds[depth - 1] === LIST) error.within(`[${f.marks[depth]! - f.marks[depth - 1]!}]`);
    else if (key !== undefined) error.within(keySegment(key));
  }
}
