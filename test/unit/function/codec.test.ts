import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  RunFunctionRequest,
  RunFunctionResponse,
  type Resource,
  type State,
} from '@crossplane-org/function-sdk-typescript';
import {
  decodeRunFunctionRequest,
  decodeRunFunctionResponse,
  encodeRunFunctionRequest,
  encodeRunFunctionResponse,
} from '../../../function/codec/messages.js';
import { DecodeError, EncodeError } from '../../../function/codec/errors.js';
import { deepList, deepStruct, depthOf } from '../../support/big-values.js';
import { Random } from '../../support/random.js';

type Obj = Record<string, unknown>;

const NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.5,
  NaN,
  Infinity,
  -Infinity,
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
  2 ** 53 + 2,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  1e-300,
  2 ** 31,
  -(2 ** 31) - 1,
];
const TEXTS = [
  '',
  'a',
  'Ready',
  'helm.crossplane.io/v1beta1',
  'ünïcödé',
  '日本語のテキスト',
  '🚀 emoji 👩‍👩‍👧',
  '\u0000nul',
  '\ufeffbom first',
  'x'.repeat(63),
  'y'.repeat(64),
  'z'.repeat(65),
  'long ✓ '.repeat(40),
];
// Keys a plain object handles specially, or orders first (integer-like keys).
const KEYS = ['', 'constructor', 'toString', 'hasOwnProperty', '0', '10', '1.5', 'k-ü', '🔑', 'a'];

function text(r: Random): string {
  if (r.chance(0.5)) return r.pick(TEXTS);
  const alphabet = 'abcdefghij-./_ KXYZ0123äöü€😀';
  const chars = Array.from(alphabet);
  return Array.from({ length: r.below(80) }, () => r.pick(chars)).join('');
}

function number(r: Random): number {
  if (r.chance(0.4)) return r.pick(NUMBERS);
  if (r.chance(0.5)) return r.below(2 ** 31) - 2 ** 30;
  return (r.next() - 0.5) * 10 ** r.below(40);
}

/** A JSON value, at most `depth` levels of lists and objects deep. */
function value(r: Random, depth: number): unknown {
  const kind = r.below(depth > 0 ? 6 : 4);
  if (kind === 0) return null;
  if (kind === 1) return r.chance(0.5);
  if (kind === 2) return number(r);
  if (kind === 3) return text(r);
  if (kind === 4) return Array.from({ length: r.below(5) }, () => value(r, depth - 1));
  return struct(r, depth - 1);
}

function struct(r: Random, depth: number): Obj {
  const object: Obj = {};
  for (let i = r.below(6); i > 0; i--) {
    object[r.chance(0.3) ? r.pick(KEYS) : text(r)] = value(r, depth);
  }
  return object;
}

const maybe = <T>(r: Random, make: () => T): T | undefined => (r.chance(0.6) ? make() : undefined);
const enumValue = (r: Random) => r.pick([0, 1, 2, 3, 5, 7, -1]);
const bytes = (r: Random) =>
  Buffer.from(Array.from({ length: r.below(3) * 7 }, () => r.below(256)));

function record<T>(r: Random, make: () => T): Record<string, T> {
  const entries: Record<string, T> = {};
  for (let i = r.below(4); i > 0; i--) entries[r.chance(0.2) ? r.pick(KEYS) : text(r)] = make();
  return entries;
}

function resource(r: Random): Resource {
  return {
    resource: maybe(r, () => struct(r, 4)),
    connectionDetails: record(r, () => bytes(r)),
    ready: enumValue(r),
  };
}

function state(r: Random): State {
  return { composite: maybe(r, () => resource(r)), resources: record(r, () => resource(r)) };
}

function sampleRequest(r: Random): RunFunctionRequest {
  return {
    meta: maybe(r, () => ({
      tag: text(r),
      capabilities: Array.from({ length: r.below(4) }, () => enumValue(r)),
    })),
    observed: maybe(r, () => state(r)),
    desired: maybe(r, () => state(r)),
    input: maybe(r, () => struct(r, 5)),
    context: maybe(r, () => struct(r, 3)),
    extraResources: record(r, () => ({
      items: Array.from({ length: r.below(3) }, () => resource(r)),
    })),
    credentials: record(r, () => ({
      credentialData: maybe(r, () => ({ data: record(r, () => bytes(r)) })),
    })),
    requiredResources: record(r, () => ({ items: [resource(r)] })),
    requiredSchemas: record(r, () => ({ openapiV3: maybe(r, () => struct(r, 4)) })),
  };
}

function selector(r: Random) {
  return {
    apiVersion: text(r),
    kind: text(r),
    matchName: maybe(r, () => text(r)),
    matchLabels: maybe(r, () => ({ labels: record(r, () => text(r)) })),
    namespace: maybe(r, () => text(r)),
  };
}

function sampleResponse(r: Random): RunFunctionResponse {
  return {
    meta: maybe(r, () => ({
      tag: text(r),
      ttl: maybe(r, () => ({
        seconds: r.pick([0, 60, -5, 2 ** 40, -(2 ** 52)]),
        nanos: r.pick([0, 5, -999_999_999]),
      })),
    })),
    desired: maybe(r, () => state(r)),
    results: Array.from({ length: r.below(3) }, () => ({
      severity: enumValue(r),
      message: text(r),
      reason: maybe(r, () => text(r)),
      target: maybe(r, () => enumValue(r)),
    })),
    context: maybe(r, () => struct(r, 3)),
    requirements: maybe(r, () => ({
      extraResources: record(r, () => selector(r)),
      resources: record(r, () => selector(r)),
      schemas: record(r, () => ({ apiVersion: text(r), kind: text(r) })),
    })),
    conditions: Array.from({ length: r.below(3) }, () => ({
      type: text(r),
      status: enumValue(r),
      reason: text(r),
      message: maybe(r, () => text(r)),
      target: maybe(r, () => enumValue(r)),
    })),
    output: maybe(r, () => struct(r, 3)),
  };
}

const SAMPLES = 600;
const sdkRequestBytes = (req: RunFunctionRequest) =>
  Buffer.from(RunFunctionRequest.encode(req).finish());
const sdkResponseBytes = (rsp: RunFunctionResponse) =>
  Buffer.from(RunFunctionResponse.encode(rsp).finish());

describe('agreement with the SDK on generated messages', () => {
  it('encodes responses to the same bytes, decodes them to the same objects, and round-trips', () => {
    for (let seed = 1; seed <= SAMPLES; seed++) {
      const rsp = sampleResponse(new Random(seed));
      const expected = sdkResponseBytes(rsp);
      const ours = encodeRunFunctionResponse(rsp);
      expect(ours.equals(expected), `seed ${seed}: encoded bytes differ`).toBe(true);
      const decoded = decodeRunFunctionResponse(ours);
      expect(isDeepStrictEqual(decoded, RunFunctionResponse.decode(expected)), `seed ${seed}`).toBe(
        true,
      );
      // The generator leaves nothing that encoding drops (undefined fields, empty bytes in maps),
      // so the round trip gives back the very message.
      expect(isDeepStrictEqual(decoded, rsp), `seed ${seed}: round trip`).toBe(true);
    }
  });

  it('does the same for requests', () => {
    for (let seed = 1; seed <= SAMPLES; seed++) {
      const req = sampleRequest(new Random(seed));
      const expected = sdkRequestBytes(req);
      expect(encodeRunFunctionRequest(req).equals(expected), `seed ${seed}`).toBe(true);
      const decoded = decodeRunFunctionRequest(expected);
      expect(isDeepStrictEqual(decoded, RunFunctionRequest.decode(expected)), `seed ${seed}`).toBe(
        true,
      );
      expect(isDeepStrictEqual(decoded, req), `seed ${seed}: round trip`).toBe(true);
    }
  });

  it('encodes what the SDK normalises away as it does', () => {
    const rsp: RunFunctionResponse = {
      meta: { tag: '' },
      desired: {
        composite: undefined,
        resources: {
          // A map entry with no message: the SDK writes the key alone; decoding drops it.
          gone: undefined as unknown as Resource,
          kept: {
            resource: { dropped: undefined, list: [1, undefined, 'x'], empty: {}, none: [] },
            connectionDetails: { empty: Buffer.alloc(0), full: Buffer.from('kubeconfig') },
            ready: 0,
          },
        },
      },
      results: [{ severity: 0, message: '', reason: '', target: 0 }],
      conditions: [],
      // Not in the message: what the SDK has no field for is not written.
      ...({ unknownField: 'x' } as object),
    } as unknown as RunFunctionResponse;
    const expected = sdkResponseBytes(rsp);
    expect(encodeRunFunctionResponse(rsp).equals(expected)).toBe(true);
    expect(decodeRunFunctionResponse(expected)).toStrictEqual(RunFunctionResponse.decode(expected));
    const kept = decodeRunFunctionResponse(expected).desired!.resources;
    expect(Object.keys(kept)).toEqual(['kept']);
    expect(kept.kept!.resource).toStrictEqual({ list: [1, undefined, 'x'], empty: {}, none: [] });
  });

  it('decodes lone surrogates as U+FFFD on both sides', () => {
    const rsp = sampleResponse(new Random(7));
    rsp.results = [{ severity: 1, message: 'a\ud800b\udc00', reason: '\udfff' }];
    const expected = sdkResponseBytes(rsp);
    expect(encodeRunFunctionResponse(rsp).equals(expected)).toBe(true);
    expect(decodeRunFunctionResponse(expected).results[0]!.message).toBe('a\ufffdb\ufffd');
  });
});

/** Hand-made protobuf, for what the SDK never writes but a peer may send. */
const wire = {
  varint(value: number | bigint): number[] {
    let rest = BigInt.asUintN(64, BigInt(value));
    const out: number[] = [];
    do {
      const low = Number(rest & 0x7fn);
      rest >>= 7n;
      out.push(rest === 0n ? low : low | 0x80);
    } while (rest !== 0n);
    return out;
  },
  field(no: number, type: number, payload: number[]): number[] {
    return [...wire.varint((no << 3) | type), ...payload];
  },
  delimited(no: number, content: number[]): number[] {
    return wire.field(no, 2, [...wire.varint(content.length), ...content]);
  },
  text(no: number, s: string): number[] {
    return wire.delimited(no, [...Buffer.from(s)]);
  },
  double(no: number, n: number): number[] {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(n);
    return wire.field(no, 1, [...b]);
  },
};
/** Unknown fields of every wire type, groups nested, with numbers the schema does not use. */
const UNKNOWN = [
  ...wire.field(100, 0, wire.varint(-5)),
  ...wire.field(101, 1, [1, 2, 3, 4, 5, 6, 7, 8]),
  ...wire.text(102, 'skip me'),
  ...wire.field(103, 5, [1, 2, 3, 4]),
  ...wire.field(104, 3, [...wire.field(1, 0, [1]), ...wire.field(2, 3, wire.field(2, 4, []))]),
  ...wire.field(104, 4, []),
];
/** A Struct { k: <Value with these bytes> } as RunFunctionRequest.input. */
const inputWithValue = (value: number[]) =>
  Buffer.from(
    wire.delimited(4, wire.delimited(1, [...wire.text(1, 'k'), ...wire.delimited(2, value)])),
  );

describe('decoding what the SDK does not write', () => {
  it('skips unknown fields and fields of the wrong wire type, at every level, like the SDK', () => {
    const resource = [...UNKNOWN, ...wire.delimited(1, [...UNKNOWN]), ...wire.field(3, 0, [1])];
    const bytes = Buffer.from([
      ...UNKNOWN,
      ...wire.field(1, 0, [1]), // meta as a varint: wrong wire type
      ...wire.delimited(1, [...wire.text(1, 'tag'), ...UNKNOWN, ...wire.field(2, 0, [3])]),
      ...wire.delimited(2, [...wire.delimited(1, resource), ...UNKNOWN]),
      ...wire.delimited(4, [...UNKNOWN, ...wire.delimited(1, [...UNKNOWN, ...wire.text(1, 'a')])]),
      ...UNKNOWN,
    ]);
    const ours = decodeRunFunctionRequest(bytes);
    expect(ours).toStrictEqual(RunFunctionRequest.decode(bytes));
    expect(ours.meta).toEqual({ tag: 'tag', capabilities: [3] });
    expect(ours.observed!.composite!.ready).toBe(1);
  });

  it('reads packed and unpacked enums, negative ones sign-extended', () => {
    const bytes = Buffer.from(
      wire.delimited(1, [
        ...wire.field(2, 0, wire.varint(4)),
        ...wire.delimited(2, [...wire.varint(1), ...wire.varint(-1), ...wire.varint(300)]),
      ]),
    );
    expect(decodeRunFunctionRequest(bytes).meta!.capabilities).toEqual([4, 1, -1, 300]);
    expect(decodeRunFunctionRequest(bytes)).toStrictEqual(RunFunctionRequest.decode(bytes));
  });

  it('resolves a Value with several kinds as the SDK does', () => {
    const kinds = {
      null: wire.field(1, 0, [0]),
      number: wire.double(2, 2.5),
      string: wire.text(3, 's'),
      bool: wire.field(4, 0, [1]),
      struct: wire.delimited(
        5,
        wire.delimited(1, [...wire.text(1, 'x'), ...wire.delimited(2, wire.field(1, 0, [0]))]),
      ),
      list: wire.delimited(6, wire.delimited(1, wire.double(2, 1))),
    };
    const names = Object.keys(kinds) as (keyof typeof kinds)[];
    const cases = [[], ...names.map((a) => [a]), ...names.flatMap((a) => names.map((b) => [a, b]))];
    for (const combination of cases) {
      const bytes = inputWithValue(combination.flatMap((name) => kinds[name]));
      expect(decodeRunFunctionRequest(bytes).input, combination.join('+')).toStrictEqual(
        RunFunctionRequest.decode(bytes).input,
      );
    }
    // A later value of the same kind wins.
    const twice = inputWithValue([...wire.text(3, 'first'), ...wire.text(3, 'second')]);
    expect(decodeRunFunctionRequest(twice).input).toEqual({ k: 'second' });
  });

  it('keeps the last of repeated keys where the first one stood', () => {
    const entry = (key: string, n: number) =>
      wire.delimited(1, [...wire.text(1, key), ...wire.delimited(2, wire.double(2, n))]);
    const bytes = Buffer.from(
      wire.delimited(4, [...entry('a', 1), ...entry('b', 2), ...entry('a', 3)]),
    );
    const input = decodeRunFunctionRequest(bytes).input!;
    expect(Object.entries(input)).toEqual([
      ['a', 3],
      ['b', 2],
    ]);
    expect(input).toStrictEqual(RunFunctionRequest.decode(bytes).input);
  });
});

describe('keys that name Object.prototype members', () => {
  it('become own data properties; no prototype changes', () => {
    const entry = (key: string, value: number[]) =>
      wire.delimited(1, [...wire.text(1, key), ...wire.delimited(2, value)]);
    const polluting = wire.delimited(
      5,
      wire.delimited(1, [...wire.text(1, 'polluted'), ...wire.delimited(2, wire.field(4, 0, [1]))]),
    );
    const bytes = Buffer.from(
      wire.delimited(
        4,
        [
          entry('__proto__', polluting),
          entry('constructor', polluting),
          entry('prototype', polluting),
          entry('toString', wire.text(3, 'not a function')),
        ].flat(),
      ),
    );
    const input = decodeRunFunctionRequest(bytes).input!;
    expect(Object.getPrototypeOf(input)).toBe(Object.prototype);
    expect(Object.keys(input)).toEqual(['__proto__', 'constructor', 'prototype', 'toString']);
    expect(Object.getOwnPropertyDescriptor(input, '__proto__')).toEqual({
      value: { polluted: true },
      writable: true,
      enumerable: true,
      configurable: true,
    });
    expect(input.toString).toBe('not a function');
    expect((input as { polluted?: unknown }).polluted).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();

    // Encoding keeps them as fields (the SDK's encoder drops __proto__).
    const rsp = { results: [], conditions: [], context: input } as unknown as RunFunctionResponse;
    const decoded = decodeRunFunctionResponse(encodeRunFunctionResponse(rsp)).context!;
    expect(Object.hasOwn(decoded, '__proto__')).toBe(true);
    expect(isDeepStrictEqual(decoded, input)).toBe(true);
  });

  it('in maps of messages too', () => {
    const bytes = Buffer.from(
      wire.delimited(
        2,
        wire.delimited(2, [
          ...wire.text(1, '__proto__'),
          ...wire.delimited(2, [...wire.field(3, 0, [1])]),
        ]),
      ),
    );
    const resources = decodeRunFunctionRequest(bytes).observed!.resources;
    expect(Object.getPrototypeOf(resources)).toBe(Object.prototype);
    expect(Object.hasOwn(resources, '__proto__')).toBe(true);
    expect(resources['__proto__']!.ready).toBe(1);
  });
});

describe('any nesting depth', () => {
  const response = (resource: Obj): RunFunctionResponse =>
    ({
      results: [],
      conditions: [],
      desired: { resources: { deep: { resource, connectionDetails: {}, ready: 0 } } },
    }) as unknown as RunFunctionResponse;
  const deepOf = (rsp: RunFunctionResponse) => rsp.desired!.resources.deep!.resource!;

  it('round-trips values 100,000 levels deep, lists and objects', () => {
    for (const make of [deepList, deepStruct]) {
      const bytes = encodeRunFunctionResponse(response({ spec: make(100_000) }));
      const decoded = decodeRunFunctionResponse(bytes);
      expect(depthOf(deepOf(decoded).spec)).toBe(100_000);
      // And the same bytes again: nothing was lost on the way.
      expect(encodeRunFunctionResponse(decoded).equals(bytes)).toBe(true);
    }
  });

  it('where the SDK gives up at about 30 levels, and agrees with it below', () => {
    const at = (depth: number) => sdkResponseBytes(response({ spec: deepStruct(depth) }));
    expect(() => RunFunctionResponse.decode(at(40))).toThrow(/recursion limit/);
    expect(depthOf(deepOf(decodeRunFunctionResponse(at(40))).spec)).toBe(40);
    expect(decodeRunFunctionResponse(at(25))).toStrictEqual(RunFunctionResponse.decode(at(25)));
  });

  it('refuses a value that contains itself, naming where; shared values are fine', () => {
    const shared = { a: 1 };
    const cyclic: Obj = { shared, list: [shared, shared] };
    expect(deepOf(decodeRunFunctionResponse(encodeRunFunctionResponse(response(cyclic))))).toEqual({
      shared: { a: 1 },
      list: [{ a: 1 }, { a: 1 }],
    });
    const inner: Obj = { name: 'x' };
    inner.self = [inner];
    cyclic.spec = { inner };
    expect(() => encodeRunFunctionResponse(response(cyclic))).toThrow(EncodeError);
    expect(() => encodeRunFunctionResponse(response(cyclic))).toThrow(
      'desired.resources.deep.resource.spec.inner.self[0]: a value contains itself',
    );
  });
});

describe('errors', () => {
  it('name the field a value of the wrong type is in', () => {
    const cases: [Obj, RegExp][] = [
      [
        { results: [{ severity: 1, message: 5 }] },
        /^results\[0\]\.message: must be a string, got number 5$/,
      ],
      [{ results: [{ severity: 1.5 }] }, /^results\[0\]\.severity: must be a 32-bit integer/],
      [
        { desired: { resources: { 'my-db': { resource: { spec: { n: 10n } } } } } },
        /^desired\.resources\.my-db\.resource\.spec\.n: a bigint is not a JSON value$/,
      ],
      [
        { desired: { resources: { x: { resource: { list: [1, Symbol('s')] } } } } },
        /^desired\.resources\.x\.resource\.list\[1\]: a symbol is not a JSON value$/,
      ],
      [
        { desired: { composite: { connectionDetails: { kubeconfig: 'text' } } } },
        /^desired\.composite\.connectionDetails\.kubeconfig: must be bytes/,
      ],
      [{ meta: { ttl: { seconds: 1.5 } } }, /^meta\.ttl\.seconds: must be an integer/],
      [
        { desired: { resources: { x: null } } },
        /^desired\.resources\.x: must be an object, got null$/,
      ],
      [{ context: [] }, /^context: must be an object, got a list$/],
    ];
    for (const [rsp, message] of cases) {
      expect(() => encodeRunFunctionResponse(rsp as unknown as RunFunctionResponse)).toThrow(
        message,
      );
    }
  });

  it('refuse malformed bytes with DecodeError, naming the field and byte', () => {
    const cases: [number[], RegExp][] = [
      [[0x0a, 0x05, 0x0a], /^meta: length 5 at byte 1 runs past the end/],
      [[0x0a, 0x02, 0x0a, 0x05], /^meta\.tag: length 5 at byte 3 runs past/],
      [[0x22, 0x03, 0x0a, 0x05, 0x0a], /^input: length 5 at byte 3 runs past the end/],
      [[0x22, 0x03, 0x0a, 0x01, 0x0a], /^input: truncated varint at byte 5$/],
      [[0x08, 0xff, 0xff], /truncated varint at byte 1/],
      [[0x0f], /invalid field tag at byte 0/],
      [[0x00], /invalid field tag at byte 0/],
      [[0x0c], /unexpected end of group/],
      [[0x0b, 0x08, 0x01], /unterminated group/],
      [[0x08, ...Array(11).fill(0xff)], /varint longer than 10 bytes/],
      [inputWithValue(wire.double(2, 1)).subarray(0, -2).toJSON().data, /^input: /],
    ];
    for (const [bytes, message] of cases) {
      const decode = () => decodeRunFunctionRequest(Buffer.from(bytes));
      expect(decode, Buffer.from(bytes).toString('hex')).toThrow(DecodeError);
      expect(decode, Buffer.from(bytes).toString('hex')).toThrow(message);
    }
  });

  it('never throw anything but DecodeError on corrupted messages', () => {
    const r = new Random(99);
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const bytes = sdkRequestBytes(sampleRequest(r));
      for (let flips = 1 + r.below(3); flips > 0 && bytes.length > 0; flips--) {
        bytes[r.below(bytes.length)] = r.below(256);
      }
      const cut = r.chance(0.3) ? bytes.subarray(0, r.below(bytes.length + 1)) : bytes;
      try {
        decodeRunFunctionRequest(cut);
      } catch (error) {
        expect(error).toBeInstanceOf(DecodeError);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(100);
  });
});
