/**
 * Plain JS values straight to google.protobuf.Struct bytes, at any nesting depth, with its own
 * stack of frames instead of recursion; the same bytes as the SDK's `Struct.encode(Struct.wrap(…))`
 * (which drops a `__proto__` key; this keeps it).
 */
import { EncodeError, keySegment } from './errors.js';
import { Frames } from './frames.js';
import { keptEncoding, setKeptEncoding } from './kept-encodings.js';
import { TAG } from './struct-tags.js';
import type { Writer } from './writer.js';

// Frames, one per container being written: slot is the container, counter its members still to
// write (written last to first, see Writer), offset the writer's length when it began.
/** An object; key is where its keys begin on the key stack. */
const STRUCT = 0;
/** An array. */
const LIST = 1;
/** An object whose encoding is to be kept (kept-encodings.ts) once it is written. */
const KEPT_STRUCT = 2;

/** Encoding never nests (it is synchronous), so one set of frames serves every call. */
const f = new Frames();

/**
 * The keys of the objects being written, each object's above its parent's: one array for every
 * call, not an Object.keys list per object (figures: docs/performance.md).
 */
let keyStack: string[] = [];
let keyTop = 0;
const KEPT_KEYS = 4096;

/** Pushes `object`'s own enumerable keys, in Object.keys order; returns how many. */
function pushKeys(object: object): number {
  const base = keyTop;
  for (const key in object) if (Object.hasOwn(object, key)) keyStack[keyTop++] = key;
  return keyTop - base;
}

function keyOf(depth: number): string {
  return keyStack[(f.keys[depth] as number) + f.counters[depth]!]!;
}

/** Writes a Struct's fields (not its own tag and length) for `root`. */
export function encodeStruct(writer: Writer, root: object): void {
  f.push(STRUCT, writer.length, root, keyTop, pushKeys(root));
  try {
    for (;;) {
      const depth = f.depth;
      let left = f.counters[depth]!;
      if (left === 0) {
        if (depth === 0) return;
        const start = f.offsets[depth]!;
        const kind = f.kinds[depth];
        if (kind !== LIST) keyTop = f.keys[depth] as number;
        if (kind === KEPT_STRUCT) {
          setKeptEncoding(f.slots[depth] as object, writer.last(writer.length - start));
        }
        f.pop();
        writer.varint(writer.length - start);
        writer.byte(kind === LIST ? TAG.LIST : TAG.STRUCT);
        wrapMember(writer, depth - 1, start);
        continue;
      }
      f.counters[depth] = --left;
      const container = f.slots[depth];
      let value: unknown;
      if (f.kinds[depth] !== LIST) {
        value = (container as Record<string, unknown>)[keyOf(depth)];
        // Like the SDK (and JSON), a Struct leaves undefined out; a list keeps it, as an empty Value.
        if (value === undefined) continue;
      } else value = (container as unknown[])[left];
      const start = writer.length;
      switch (typeof value) {
        case 'string':
          writer.string(value);
          writer.byte(TAG.STRING);
          break;
        case 'number':
          writer.double(value);
          writer.byte(TAG.NUMBER);
          break;
        case 'boolean':
          writer.bool(value);
          writer.byte(TAG.BOOL);
          break;
        case 'undefined':
          break;
        case 'object': {
          if (value === null) {
            writer.byte(0);
            writer.byte(TAG.NULL);
            break;
          }
          // Written before (kept-encodings.ts): its bytes again.
          const kept = Object.isFrozen(value) ? keptEncoding(value) : undefined;
          if (kept) {
            writer.raw(kept);
            writer.varint(kept.length);
            writer.byte(TAG.STRUCT);
            break;
          }
          open(value, start, kept === null);
          continue;
        }
        default:
          throw new EncodeError(`a ${typeof value} is not a JSON value`);
      }
      wrapMember(writer, depth, start);
    }
  } catch (error) {
    if (error instanceof EncodeError) addPath(error);
    throw error;
  } finally {
    f.reset();
    if (keyStack.length > KEPT_KEYS) keyStack = [];
    keyTop = 0;
  }
}

/** `keep`: the object is registered in kept-encodings.ts, its bytes to be kept once written. */
function open(value: object, start: number, keep: boolean): void {
  // A container met again among its ancestors is a cycle, which would never end. The path down a
  // cycle repeats, so comparing each level with the one at half its depth finds it (Floyd's
  // tortoise and hare) without remembering every ancestor.
  if (f.slots[(f.depth + 1) >>> 1] === value) throw new EncodeError('a value contains itself');
  if (Array.isArray(value)) f.push(LIST, start, value, undefined, value.length);
  else f.push(keep ? KEPT_STRUCT : STRUCT, start, value, keyTop, pushKeys(value));
}

/** Wraps the Value written since `start` as the current member of the container at `depth`. */
function wrapMember(writer: Writer, depth: number, start: number): void {
  writer.varint(writer.length - start);
  if (f.kinds[depth] !== LIST) {
    writer.byte(TAG.ENTRY_VALUE);
    const key = keyOf(depth);
    if (key !== '') {
      writer.string(key);
      writer.byte(TAG.FIRST);
    }
    writer.varint(writer.length - start);
  }
  writer.byte(TAG.FIRST);
}

function addPath(error: EncodeError): void {
  for (let depth = f.depth; depth >= 0; depth--) {
    const member = f.counters[depth]!;
    error.within(f.kinds[depth] !== LIST ? keySegment(keyOf(depth)) : `[${member}]`);
  }
}
