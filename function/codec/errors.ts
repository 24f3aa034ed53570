/**
 * A codec error that names where in the message it happened: the path is built while the error
 * unwinds out of the fields it happened in, so a message that encodes or decodes fine pays nothing.
 */
export class CodecError extends Error {
  /** Innermost first. */
  private readonly segments: string[] = [];

  constructor(private readonly detail: string) {
    super(detail);
  }

  /** Adds the field or index the error unwinds out of: `.name`, `[3]`, `["key"]`. */
  within(segment: string): this {
    this.segments.push(segment);
    this.message = `${this.path}: ${this.detail}`;
    return this;
  }

  get path(): string {
    return this.segments.slice().reverse().join('').replace(/^\./, '');
  }
}

/** Bytes that are not a valid protobuf message; the server answers INVALID_ARGUMENT with it. */
export class DecodeError extends CodecError {
  override name = 'DecodeError';
}

/** A value the protobuf schema cannot carry. */
export class EncodeError extends CodecError {
  override name = 'EncodeError';
}

/** A path segment for an object key: `.name`, or `["odd key"]`. */
export function keySegment(key: string): string {
  return /^[A-Za-z_$][\w$-]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** Adds a segment to a codec error passing through; other errors pass unchanged. */
export function within(error: unknown, segment: string): unknown {
  return error instanceof CodecError ? error.within(segment) : error;
}
