import { DecodeError } from './errors.js';

export const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
const WIRE_GROUP_START = 3;
const WIRE_GROUP_END = 4;
const WIRE_FIXED32 = 5;

/** ASCII strings up to this length are read in JS, and remembered (see `recent`). */
const SHORT_STRING = 32;
/**
 * Short ASCII strings read before, by a hash of their bytes: the same keys and many of the same
 * values come in every request, and returning the string read before costs less than making a
 * new one (and much less garbage). A collision just replaces the entry.
 */
const recent: (string | undefined)[] = new Array<string | undefined>(4096).fill(undefined);
const RECENT_MASK = recent.length - 1;

/** Reads protobuf wire format from a buffer; every read checks its bounds. */
export class Reader {
  pos = 0;
  /** Bits 32–63 of the last varint read (protobuf varints carry up to 64 bits). */
  high = 0;

  constructor(readonly buf: Buffer) {}

  /** A varint's low 32 bits, unsigned; its high bits are left in `high`. */
  varint(): number {
    const buf = this.buf;
    const pos = this.pos;
    if (pos < buf.length) {
      const byte = buf[pos]!;
      if (byte < 0x80) {
        this.pos = pos + 1;
        this.high = 0;
        return byte;
      }
    }
    return this.longVarint();
  }

  private longVarint(): number {
    const buf = this.buf;
    const start = this.pos;
    let pos = start;
    let low = 0;
    let high = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (pos >= buf.length) throw new DecodeError(`truncated varint at byte ${start}`);
      const byte = buf[pos++]!;
      const bits = byte & 0x7f;
      if (shift < 28) low |= bits << shift;
      else if (shift === 28) {
        low |= bits << 28;
        high = bits >>> 4;
      } else high |= bits << (shift - 32);
      if (byte < 0x80) {
        this.pos = pos;
        this.high = high >>> 0;
        return low >>> 0;
      }
    }
    throw new DecodeError(`varint longer than 10 bytes at byte ${start}`);
  }

  /** A field's tag: field number << 3 | wire type. */
  tag(): number {
    const start = this.pos;
    const tag = this.varint();
    if (this.high !== 0 || tag >>> 3 === 0 || (tag & 7) > WIRE_FIXED32) {
      throw new DecodeError(`invalid field tag at byte ${start}`);
    }
    return tag;
  }

  /** A length prefix, which must fit before `limit` (the end of the enclosing message). */
  length(limit: number): number {
    const start = this.pos;
    const length = this.varint();
    if (this.high !== 0 || length > limit - this.pos) {
      throw new DecodeError(
        `length ${length} at byte ${start} runs past the end of its message at byte ${limit}`,
      );
    }
    return length;
  }

  /** The end of a length-delimited field's content. */
  delimited(limit: number): number {
    const length = this.length(limit);
    return this.pos + length;
  }

  /** int32 and enums: the low 32 bits, signed (negative values arrive sign-extended to 64). */
  int32(): number {
    return this.varint() | 0;
  }

  /** int64, as a number; outside ±2^53 it would lose precision, so it is refused. */
  int64(): number {
    const low = this.varint();
    const value = Number(BigInt.asIntN(64, (BigInt(this.high) << 32n) | BigInt(low)));
    if (!Number.isSafeInteger(value)) {
      throw new DecodeError(`int64 ${value} at byte ${this.pos} is beyond ±2^53`);
    }
    return value;
  }

  bool(): boolean {
    return (this.varint() | this.high) !== 0;
  }

  double(limit: number): number {
    const pos = this.pos;
    if (limit - pos < 8) throw new DecodeError(`truncated double at byte ${pos}`);
    this.pos = pos + 8;
    return this.buf.readDoubleLE(pos);
  }

  /** UTF-8 text; invalid sequences become U+FFFD, as the SDK's decoder (TextDecoder) does. */
  string(limit: number): string {
    const length = this.length(limit);
    const start = this.pos;
    const end = start + length;
    this.pos = end;
    const buf = this.buf;
    if (length <= SHORT_STRING) {
      let hash = length;
      let i = start;
      for (; i < end; i++) {
        const byte = buf[i]!;
        if (byte >= 0x80) break;
        hash = Math.imul(hash ^ byte, 0x01000193);
      }
      if (i === end) {
        const slot = (hash ^ (hash >>> 15)) & RECENT_MASK;
        const seen = recent[slot];
        if (seen !== undefined && seen.length === length && sameAscii(seen, buf, start))
          return seen;
        const text = buf.toString('latin1', start, end);
        recent[slot] = text;
        return text;
      }
    }
    try {
      return buf.toString('utf8', start, end);
    } catch (error) {
      // Past the longest string V8 can hold (with --max-recv-message-size raised that far).
      throw new DecodeError(`a string of ${length} bytes at byte ${start}: ${String(error)}`);
    }
  }

  /** Whether the string here is `expected`; without making a string of it, where it is ASCII. */
  isString(limit: number, expected: string): boolean {
    const length = this.length(limit);
    const start = this.pos;
    const end = start + length;
    this.pos = end;
    if (length !== expected.length) {
      // Only UTF-8 text beyond ASCII takes more bytes than characters.
      return length > expected.length && buf8(this.buf, start, end) === expected;
    }
    const buf = this.buf;
    for (let i = 0; i < length; i++) {
      const byte = buf[start + i]!;
      if (byte >= 0x80) return buf8(buf, start, end) === expected;
      if (byte !== expected.charCodeAt(i)) return false;
    }
    return true;
  }

  /** A copy, so that a decoded request does not keep the whole received buffer alive. */
  bytes(limit: number): Buffer {
    const length = this.length(limit);
    const start = this.pos;
    this.pos = start + length;
    return Buffer.from(this.buf.subarray(start, start + length));
  }

  /** Skips an unknown field's value, groups included, without recursion. */
  skip(tag: number, limit: number): void {
    let groups = 0;
    for (;;) {
      switch (tag & 7) {
        case WIRE_VARINT:
          this.varint();
          break;
        case WIRE_FIXED64:
          this.advance(8, limit);
          break;
        case WIRE_LEN:
          this.advance(this.length(limit), limit);
          break;
        case WIRE_FIXED32:
          this.advance(4, limit);
          break;
        case WIRE_GROUP_START:
          groups++;
          break;
        case WIRE_GROUP_END:
          if (groups === 0) throw new DecodeError(`unexpected end of group at byte ${this.pos}`);
          groups--;
          break;
      }
      if (groups === 0) return;
      if (this.pos >= limit) throw new DecodeError(`unterminated group at byte ${this.pos}`);
      tag = this.tag();
    }
  }

  private advance(count: number, limit: number): void {
    if (limit - this.pos < count) throw new DecodeError(`truncated field at byte ${this.pos}`);
    this.pos += count;
  }
}

function buf8(buf: Buffer, start: number, end: number): string {
  return buf.toString('utf8', start, end);
}

function sameAscii(text: string, buf: Buffer, start: number): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) !== buf[start + i]) return false;
  return true;
}
