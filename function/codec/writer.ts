/** The buffer's size at first: growing copies what was written. */
const MIN_BUFFER = 64 * 1024;
/** A buffer grown beyond this for a large message is given back once it is written. */
const KEPT_BUFFER = 1024 * 1024;
/** Strings up to this length are written by a JS loop while they are ASCII. */
const SHORT_STRING = 64;

/**
 * Writes protobuf back to front: a message's content is written before its length prefix, so
 * every length is known when it is written and no message is measured or copied twice.
 * Fields are therefore written in reverse order. One writer serves message after message: its
 * buffer is kept, and each message is copied out at its exact size.
 */
export class Writer {
  private buf = Buffer.allocUnsafe(MIN_BUFFER);
  /** The content is buf[pos, buf.length). */
  private pos = MIN_BUFFER;

  /** Bytes written so far; a message's length is the difference of two readings. */
  get length(): number {
    return this.buf.length - this.pos;
  }

  /** A copy of what was written. */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(this.pos));
  }

  /** Empty again, for the next message. */
  reset(): void {
    if (this.buf.length > KEPT_BUFFER) this.buf = Buffer.allocUnsafe(MIN_BUFFER);
    this.pos = this.buf.length;
  }

  private reserve(bytes: number): void {
    if (this.pos < bytes) this.grow(bytes);
  }

  private grow(bytes: number): void {
    const used = this.length;
    let size = this.buf.length * 2;
    while (size - used < bytes) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, size - used, this.pos);
    this.buf = next;
    this.pos = size - used;
  }

  /** One byte: every tag of this schema is a single byte. */
  byte(value: number): void {
    this.reserve(1);
    this.buf[--this.pos] = value;
  }

  /** An unsigned varint up to 2^32 - 1 (lengths, non-negative enums). */
  varint(value: number): void {
    if (value < 0x80) {
      this.byte(value);
      return;
    }
    const size = value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
    this.reserve(size);
    const buf = this.buf;
    let pos = (this.pos -= size);
    while (value > 0x7f) {
      buf[pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buf[pos] = value;
  }

  /** int32 and enums: negative values are sign-extended to 10 bytes, as protobuf requires. */
  int32(value: number): void {
    if (value >= 0) this.varint(value);
    else this.int64(value);
  }

  /** A safe integer as a 64-bit two's complement varint. */
  int64(value: number): void {
    if (value >= 0 && value <= 0xffffffff) {
      this.varint(value);
      return;
    }
    let rest = BigInt.asUintN(64, BigInt(value));
    const bytes: number[] = [];
    do {
      const low = Number(rest & 0x7fn);
      rest >>= 7n;
      bytes.push(rest === 0n ? low : low | 0x80);
    } while (rest !== 0n);
    this.reserve(bytes.length);
    this.pos -= bytes.length;
    this.buf.set(bytes, this.pos);
  }

  bool(value: boolean): void {
    this.byte(value ? 1 : 0);
  }

  double(value: number): void {
    this.reserve(8);
    this.pos -= 8;
    this.buf.writeDoubleLE(value, this.pos);
  }

  /** A length-prefixed UTF-8 string; lone surrogates become U+FFFD, as in TextEncoder. */
  string(value: string): void {
    const count = value.length;
    if (count <= SHORT_STRING) {
      this.reserve(count + 1);
      const buf = this.buf;
      let pos = this.pos;
      let i = count;
      while (i > 0) {
        const code = value.charCodeAt(--i);
        if (code >= 0x80) break;
        buf[--pos] = code;
      }
      if (pos === this.pos - count) {
        buf[--pos] = count;
        this.pos = pos;
        return;
      }
    }
    const bytes = Buffer.byteLength(value, 'utf8');
    this.reserve(bytes);
    this.pos -= bytes;
    this.buf.write(value, this.pos, bytes, 'utf8');
    this.varint(bytes);
  }

  /** Bytes as they are, without a length: what `last` gave back earlier. */
  raw(value: Uint8Array): void {
    this.reserve(value.length);
    this.pos -= value.length;
    this.buf.set(value, this.pos);
  }

  /** A copy of the `count` bytes written last. */
  last(count: number): Buffer {
    return Buffer.from(this.buf.subarray(this.pos, this.pos + count));
  }

  bytes(value: Uint8Array): void {
    this.reserve(value.length);
    this.pos -= value.length;
    this.buf.set(value, this.pos);
    this.varint(value.length);
  }
}
