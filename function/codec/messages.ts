/**
 * The messages of run_function.proto (apiextensions.fn.proto.v1, and v1beta1, which has the same
 * messages) as tables, and one decoder and one encoder that walk them. Objects have the shapes
 * the SDK's generated TypeScript types describe, exactly as its decode gives them: proto3 scalars
 * default to "" and 0, optional fields and messages to undefined, repeated fields to [], maps to
 * {}, bytes are Buffers, enums numbers, Structs plain objects. Encoding gives the SDK's bytes.
 */
import type {
  RunFunctionRequest,
  RunFunctionResponse,
} from '@crossplane-org/function-sdk-typescript';
import { setOwn } from '../../common/objects.js';
import { DecodeError, EncodeError, keySegment, within } from './errors.js';
import { Reader, WIRE_LEN, WIRE_VARINT } from './reader.js';
import { decodeStruct, type JsonObject } from './struct-decoder.js';
import { matchStruct } from './struct-match.js';
import { keptEncoding, setKeptEncoding } from './kept-encodings.js';
import { encodeStruct } from './struct-encoder.js';
import { Writer } from './writer.js';

type Scalar = 'string' | 'enum' | 'int32' | 'int64';
type Kind = Scalar | 'bytes' | 'struct' | MessageType;
/**
 * implicit: a proto3 scalar, left out when it has its default. optional: present when defined
 * (`optional` scalars and every message). repeated: packed for enums. map: keyed by string.
 */
type Label = 'implicit' | 'optional' | 'repeated' | 'map';

interface Field {
  name: string;
  kind: Kind;
  label: Label;
  /** A Struct matched against the values known for it before it is decoded (see decodeRoot). */
  known: boolean;
  /** The field's tag as written; a map's value and a packed enum are length-delimited. */
  tag: number;
  /** A map's: its entries' value field's tag. */
  valueTag: number;
}

interface MessageType {
  fields: Field[];
  byNumber: (Field | undefined)[];
  /** The message with its defaults; maps and lists are filled in fresh. */
  template: JsonObject;
  containers: Field[];
}

type FieldSpec = [number, Kind, Label, boolean?];
const implicit = (no: number, kind: Scalar): FieldSpec => [no, kind, 'implicit'];
const optional = (no: number, kind: Kind): FieldSpec => [no, kind, 'optional'];
const known = (no: number): FieldSpec => [no, 'struct', 'optional', true];
const repeated = (no: number, kind: 'enum' | MessageType): FieldSpec => [no, kind, 'repeated'];
const map = (no: number, kind: 'string' | 'bytes' | MessageType): FieldSpec => [no, kind, 'map'];

function wireType(kind: Kind): number {
  return kind === 'enum' || kind === 'int32' || kind === 'int64' ? WIRE_VARINT : WIRE_LEN;
}

function message(specs: Record<string, FieldSpec>): MessageType {
  const type: MessageType = { fields: [], byNumber: [], template: {}, containers: [] };
  for (const [name, [no, kind, label, isKnown = false]] of Object.entries(specs)) {
    const wire = label === 'implicit' || label === 'optional' ? wireType(kind) : WIRE_LEN;
    const field: Field = {
      name,
      kind,
      label,
      known: isKnown,
      tag: (no << 3) | wire,
      valueTag: (2 << 3) | wireType(kind),
    };
    type.fields.push(field);
    type.byNumber[no] = field;
    if (label === 'map' || label === 'repeated') type.containers.push(field);
    type.template[name] = label !== 'implicit' ? undefined : kind === 'string' ? '' : 0;
  }
  return type;
}

// Leaves first: each message refers only to those above it.
const Duration = message({ seconds: implicit(1, 'int64'), nanos: implicit(2, 'int32') });
const Resource = message({
  resource: optional(1, 'struct'),
  connectionDetails: map(2, 'bytes'),
  ready: implicit(3, 'enum'),
});
const State = message({ composite: optional(1, Resource), resources: map(2, Resource) });
const Resources = message({ items: repeated(1, Resource) });
const CredentialData = message({ data: map(1, 'bytes') });
const Credentials = message({ credentialData: optional(1, CredentialData) });
const Schema = message({ openapiV3: optional(1, 'struct') });
const RequestMeta = message({ tag: implicit(1, 'string'), capabilities: repeated(2, 'enum') });
const MatchLabels = message({ labels: map(1, 'string') });
const ResourceSelector = message({
  apiVersion: implicit(1, 'string'),
  kind: implicit(2, 'string'),
  matchName: optional(3, 'string'),
  matchLabels: optional(4, MatchLabels),
  namespace: optional(5, 'string'),
});
const SchemaSelector = message({ apiVersion: implicit(1, 'string'), kind: implicit(2, 'string') });
const Requirements = message({
  extraResources: map(1, ResourceSelector),
  resources: map(2, ResourceSelector),
  schemas: map(3, SchemaSelector),
});
const ResponseMeta = message({ tag: implicit(1, 'string'), ttl: optional(2, Duration) });
const Result = message({
  severity: implicit(1, 'enum'),
  message: implicit(2, 'string'),
  reason: optional(3, 'string'),
  target: optional(4, 'enum'),
});
const Condition = message({
  type: implicit(1, 'string'),
  status: implicit(2, 'enum'),
  reason: implicit(3, 'string'),
  message: optional(4, 'string'),
  target: optional(5, 'enum'),
});
const RunFunctionRequestType = message({
  meta: optional(1, RequestMeta),
  observed: optional(2, State),
  desired: optional(3, State),
  input: known(4),
  context: optional(5, 'struct'),
  extraResources: map(6, Resources),
  credentials: map(7, Credentials),
  requiredResources: map(8, Resources),
  requiredSchemas: map(9, Schema),
});
const RunFunctionResponseType = message({
  meta: optional(1, ResponseMeta),
  desired: optional(2, State),
  results: repeated(3, Result),
  context: optional(4, 'struct'),
  requirements: optional(5, Requirements),
  conditions: repeated(6, Condition),
  output: optional(7, 'struct'),
});

/**
 * `knownInputs`: deep-frozen values the request's input may equal (the catalogues read lately);
 * an input equal to one of them, keys in any order, is that very object, and is not decoded.
 */
export function decodeRunFunctionRequest(
  bytes: Uint8Array,
  knownInputs: readonly object[] = [],
): RunFunctionRequest {
  knownValues = knownInputs;
  try {
    return decodeRoot(RunFunctionRequestType, bytes) as unknown as RunFunctionRequest;
  } finally {
    knownValues = NONE;
  }
}

export function decodeRunFunctionResponse(bytes: Uint8Array): RunFunctionResponse {
  return decodeRoot(RunFunctionResponseType, bytes) as unknown as RunFunctionResponse;
}

export function encodeRunFunctionResponse(rsp: RunFunctionResponse): Buffer {
  return encodeRoot(RunFunctionResponseType, rsp);
}

export function encodeRunFunctionRequest(req: RunFunctionRequest): Buffer {
  return encodeRoot(RunFunctionRequestType, req);
}

const NONE: readonly object[] = [];
/** For the `known` field of the message being decoded; decoding never nests. */
let knownValues = NONE;

function decodeRoot(type: MessageType, bytes: Uint8Array): JsonObject {
  const buf = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return decodeMessage(type, new Reader(buf), buf.length);
}

function decodeMessage(type: MessageType, reader: Reader, end: number): JsonObject {
  const decoded: JsonObject = { ...type.template };
  for (const field of type.containers) decoded[field.name] = field.label === 'map' ? {} : [];
  let field: Field | undefined;
  try {
    while (reader.pos < end) {
      field = undefined;
      const tag = reader.tag();
      field = type.byNumber[tag >>> 3];
      if (field === undefined) reader.skip(tag, end);
      else decodeField(field, tag, decoded, reader, end);
    }
  } catch (error) {
    throw field ? within(error, `.${field.name}`) : error;
  }
  if (reader.pos > end) {
    throw new DecodeError(`a field runs past the end of its message at byte ${end}`);
  }
  return decoded;
}

function decodeField(
  field: Field,
  tag: number,
  decoded: JsonObject,
  reader: Reader,
  end: number,
): void {
  const wire = tag & 7;
  const kind = field.kind;
  if (field.label === 'map') {
    if (wire === WIRE_LEN) decodeMapEntry(field, decoded[field.name] as JsonObject, reader, end);
    else reader.skip(tag, end);
  } else if (field.label === 'repeated') {
    const list = decoded[field.name] as unknown[];
    if (kind === 'enum' && wire === WIRE_VARINT) list.push(reader.int32());
    else if (kind === 'enum' && wire === WIRE_LEN) {
      const packedEnd = reader.delimited(end);
      while (reader.pos < packedEnd) list.push(reader.int32());
      if (reader.pos > packedEnd) throw new DecodeError(`a packed list overruns its length`);
    } else if (kind !== 'enum' && wire === WIRE_LEN) list.push(decodeValue(kind, reader, end));
    else reader.skip(tag, end);
  } else if (wire === wireType(kind)) {
    decoded[field.name] = field.known ? decodeKnown(reader, end) : decodeValue(kind, reader, end);
  } else reader.skip(tag, end);
}

/** A Struct that is one of `knownValues` is that value; any other is decoded. */
function decodeKnown(reader: Reader, limit: number): JsonObject {
  const end = reader.delimited(limit);
  const start = reader.pos;
  for (const value of knownValues) {
    if (matchStruct(reader, end, value)) {
      reader.pos = end;
      return value as JsonObject;
    }
    reader.pos = start;
  }
  return decodeStruct(reader, end);
}

function decodeValue(kind: Kind, reader: Reader, end: number): unknown {
  switch (kind) {
    case 'string':
      return reader.string(end);
    case 'enum':
    case 'int32':
      return reader.int32();
    case 'int64':
      return reader.int64();
    case 'bytes':
      return reader.bytes(end);
    case 'struct':
      return decodeStruct(reader, reader.delimited(end));
    default:
      return decodeMessage(kind, reader, reader.delimited(end));
  }
}

function decodeMapEntry(field: Field, target: JsonObject, reader: Reader, limit: number): void {
  const end = reader.delimited(limit);
  let key = '';
  let value: unknown;
  try {
    while (reader.pos < end) {
      const tag = reader.tag();
      if (tag === KEY_TAG) key = reader.string(end);
      else if (tag === field.valueTag) value = decodeValue(field.kind, reader, end);
      else reader.skip(tag, end);
    }
  } catch (error) {
    throw within(error, keySegment(key));
  }
  if (reader.pos > end) throw new DecodeError(`a map entry runs past its end at byte ${end}`);
  // As the SDK does: an entry without a message value is left out; bytes and strings default.
  if (value === undefined && field.kind === 'bytes') value = Buffer.alloc(0);
  if (value === undefined && field.kind === 'string') value = '';
  if (value !== undefined) setOwn(target, key, value);
}

const KEY_TAG = (1 << 3) | WIRE_LEN;

/** Encoding never nests (it is synchronous), so one writer serves every call. */
const messageWriter = new Writer();

function encodeRoot(type: MessageType, value: unknown): Buffer {
  try {
    encodeMessage(type, messageWriter, expectMessage(value));
    return messageWriter.finish();
  } finally {
    messageWriter.reset();
  }
}

/** Writes a message's fields back to front (see Writer). */
function encodeMessage(type: MessageType, writer: Writer, value: JsonObject): void {
  const fields = type.fields;
  for (let i = fields.length - 1; i >= 0; i--) {
    const field = fields[i]!;
    const fieldValue = value[field.name];
    // Absent, for every label: the SDK's objects always carry their lists and maps, but a
    // hand-built response may not.
    if (fieldValue === undefined) continue;
    try {
      encodeField(field, writer, fieldValue);
    } catch (error) {
      throw within(error, `.${field.name}`);
    }
  }
}

function encodeField(field: Field, writer: Writer, value: unknown): void {
  switch (field.label) {
    case 'implicit':
      if (value === (field.kind === 'string' ? '' : 0)) return;
      encodeValue(field.kind, writer, value);
      writer.byte(field.tag);
      return;
    case 'optional':
      encodeValue(field.kind, writer, value);
      writer.byte(field.tag);
      return;
    case 'repeated':
      return encodeRepeated(field, writer, value);
    default:
      return encodeMap(field, writer, value);
  }
}

function encodeRepeated(field: Field, writer: Writer, value: unknown): void {
  if (!Array.isArray(value)) throw new EncodeError(`must be a list, got ${describe(value)}`);
  if (field.kind === 'enum') {
    // The SDK writes a packed list even when it is empty.
    const start = writer.length;
    for (let i = value.length - 1; i >= 0; i--) {
      try {
        writer.int32(expectInt32(value[i]));
      } catch (error) {
        throw within(error, `[${i}]`);
      }
    }
    writer.varint(writer.length - start);
    writer.byte(field.tag);
    return;
  }
  for (let i = value.length - 1; i >= 0; i--) {
    try {
      encodeValue(field.kind, writer, value[i]);
    } catch (error) {
      throw within(error, `[${i}]`);
    }
    writer.byte(field.tag);
  }
}

function encodeMap(field: Field, writer: Writer, value: unknown): void {
  const entries = expectMessage(value);
  const keys = Object.keys(entries);
  for (let i = keys.length - 1; i >= 0; i--) {
    const key = keys[i]!;
    const entry = entries[key];
    const start = writer.length;
    try {
      if (!isEmptyMapValue(field.kind, entry)) {
        encodeValue(field.kind, writer, entry);
        writer.byte(field.valueTag);
      }
    } catch (error) {
      throw within(error, keySegment(key));
    }
    if (key !== '') {
      writer.string(key);
      writer.byte(KEY_TAG);
    }
    writer.varint(writer.length - start);
    writer.byte(field.tag);
  }
}

/** Writes a value of a field (without its tag); messages and Structs with their length. */
function encodeValue(kind: Kind, writer: Writer, value: unknown): void {
  switch (kind) {
    case 'string':
      if (typeof value !== 'string')
        throw new EncodeError(`must be a string, got ${describe(value)}`);
      return writer.string(value);
    case 'enum':
    case 'int32':
      return writer.int32(expectInt32(value));
    case 'int64':
      if (!Number.isSafeInteger(value)) {
        throw new EncodeError(`must be an integer within ±2^53, got ${describe(value)}`);
      }
      return writer.int64(value as number);
    case 'bytes':
      if (!(value instanceof Uint8Array))
        throw new EncodeError(`must be bytes, got ${describe(value)}`);
      return writer.bytes(value);
    case 'struct': {
      const object = expectMessage(value);
      const kept = keptEncoding(object);
      if (kept) {
        writer.raw(kept);
        return writer.varint(kept.length);
      }
      const start = writer.length;
      encodeStruct(writer, object);
      const length = writer.length - start;
      if (kept === null) setKeptEncoding(object, writer.last(length));
      return writer.varint(length);
    }
    default: {
      const start = writer.length;
      encodeMessage(kind, writer, expectMessage(value));
      return writer.varint(writer.length - start);
    }
  }
}

/** Like the SDK: a map entry's undefined message, empty string or empty bytes is left out. */
function isEmptyMapValue(kind: Kind, value: unknown): boolean {
  if (kind === 'bytes') return value instanceof Uint8Array && value.length === 0;
  return value === (kind === 'string' ? '' : undefined);
}

function expectMessage(value: unknown): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new EncodeError(`must be an object, got ${describe(value)}`);
  }
  return value as JsonObject;
}

function expectInt32(value: unknown): number {
  if (
    !Number.isInteger(value) ||
    (value as number) < -0x80000000 ||
    (value as number) > 0x7fffffff
  ) {
    throw new EncodeError(`must be a 32-bit integer, got ${describe(value)}`);
  }
  return value as number;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 40))}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return `a ${typeof value}`;
}
