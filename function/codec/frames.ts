/**
 * The explicit stack that replaces recursion in the Struct decoder and encoder: parallel arrays,
 * one entry per message or container being worked on, kept between calls while they are small.
 */

/** Frames beyond this many are given back after a call instead of kept for the next. */
const KEPT_FRAMES = 1024;
const INITIAL_FRAMES = 64;

export class Frames {
  depth = -1;
  kinds = new Uint8Array(INITIAL_FRAMES);
  offsets = new Uint32Array(INITIAL_FRAMES);
  counters = new Uint32Array(INITIAL_FRAMES);
  slots: unknown[] = [];
  keys: unknown[] = [];

  push(kind: number, offset: number, slot: unknown, key: unknown, counter: number): void {
    const depth = ++this.depth;
    if (depth === this.kinds.length) this.resize(depth * 2);
    this.kinds[depth] = kind;
    this.offsets[depth] = offset;
    this.counters[depth] = counter;
    this.slots[depth] = slot;
    this.keys[depth] = key;
  }

  pop(): void {
    this.slots[this.depth] = undefined;
    this.keys[this.depth] = undefined;
    this.depth--;
  }

  /** Drops the references a call left (popped frames drop their own), and a deep call's memory. */
  reset(): void {
    for (; this.depth >= 0; this.depth--) {
      this.slots[this.depth] = undefined;
      this.keys[this.depth] = undefined;
    }
    if (this.kinds.length > KEPT_FRAMES) {
      this.resize(INITIAL_FRAMES);
      this.slots = [];
      this.keys = [];
    }
  }

  protected resize(size: number): void {
    this.kinds = resized(this.kinds, new Uint8Array(size));
    this.offsets = resized(this.offsets, new Uint32Array(size));
    this.counters = resized(this.counters, new Uint32Array(size));
  }
}

/** `to`, holding as much of `from` as fits. */
export function resized<T extends Uint8Array | Uint32Array | Float64Array>(from: T, to: T): T {
  to.set(from.subarray(0, Math.min(from.length, to.length)));
  return to;
}
