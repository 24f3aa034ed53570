/**
 * What the function keeps between calls (compose/kept.ts, codec/kept-encodings.ts, the inputs the
 * decoder matches): a response depends on its request alone. Call after call, with XRs, claims,
 * catalogues and observed states that change and come back, each response is byte for byte the
 * one composed afresh; an input matched is the very input, and any other is decoded.
 */
import { describe, expect, it } from 'vitest';
import type { RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import { CLUSTER_KEY, toolKey, usageKey } from '../../../../common/contract.js';
import {
  decodeRunFunctionRequest,
  encodeRunFunctionRequest,
  encodeRunFunctionResponse,
} from '../../../../function/codec/messages.js';
import { forgetKeptResources } from '../../../../function/compose/kept.js';
import { knownInputs, runFunction } from '../../../../function/run-function.js';
import { Random } from '../../../support/random.js';
import { loadRequest, observedResource } from '../../../support/requests.js';

type Obj = Record<string, unknown>;

/** A JSON value as a Struct carries it: -0, NaN and the infinities are numbers too. */
function randomValue(random: Random, depth = 0): unknown {
  switch (random.below(depth > 2 ? 4 : 6)) {
    case 0:
      return random.pick([0, -0, 1, 1.5, -7, NaN, Infinity, 2 ** 53]);
    case 1:
      return random.pick(['', 'a', 'b', 'é', 'x'.repeat(40)]);
    case 2:
      return random.pick([true, false]);
    case 3:
      return null;
    case 4:
      return Array.from({ length: random.below(3) }, () => randomValue(random, depth + 1));
    default:
      return randomObject(random, depth + 1);
  }
}

function randomObject(random: Random, depth: number): Obj {
  const keys = ['a', 'b', 'c', '__proto__', ''];
  const object: Obj = {};
  for (let n = random.below(4); n > 0; n--) {
    Object.defineProperty(object, random.pick(keys), {
      value: randomValue(random, depth),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return object;
}

/** The same value, its keys in another order. */
function shuffled(value: unknown, random: Random): unknown {
  if (Array.isArray(value)) return value.map((item) => shuffled(item, random));
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  const out: Obj = {};
  for (const [key, item] of entries) {
    Object.defineProperty(out, key, {
      value: shuffled(item, random),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** One of a few XRs, catalogues and claims, in one of many observed states. */
function randomRequest(random: Random): RunFunctionRequest {
  const count = random.int(1, 8);
  const req = loadRequest(count);
  const xr = req.observed!.composite!.resource as { metadata: Obj; spec: { tools: Obj[] } };
  xr.metadata.name = random.pick(['bench', 'other']);
  if (random.chance(0.4)) xr.metadata.namespace = random.pick(['team-a', 'team-b']);
  const catalog = req.input as { tools: Obj[]; toolDefaults?: Obj };
  if (random.chance(0.3)) catalog.toolDefaults = { waitTimeout: '10m' };
  for (const tool of catalog.tools) {
    if (random.chance(0.2)) tool.values = { replicaCount: 2, image: { tag: 'v9' } };
    if (random.chance(0.2)) {
      tool.readiness = [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }];
    }
  }
  for (const tool of xr.spec.tools) {
    if (random.chance(0.5)) tool.values = random.chance(0.2) ? {} : { extra: randomValue(random) };
    if (random.chance(0.2)) tool.version = random.pick(['1.0.0', '2.0.0']);
  }
  const observed = req.observed!.resources;
  if (random.chance(0.2)) delete observed[CLUSTER_KEY];
  for (let i = 0; i < count; i++) {
    const tool = `tool-${i}`;
    const state = random.below(4);
    if (state === 0) delete observed[toolKey(tool)];
    else observed[toolKey(tool)] = observedResource('Release', { ready: state === 1 });
    if (random.chance(0.3)) observed[usageKey(tool)] = observedResource('Usage');
  }
  req.input = shuffled(req.input, random) as Obj;
  return req;
}

describe('what the function keeps between calls', () => {
  it('composes byte for byte what composing afresh gives, call after call', async () => {
    const random = new Random(22);
    for (let i = 0; i < 300; i++) {
      const bytes = encodeRunFunctionRequest(randomRequest(random));
      const kept = encodeRunFunctionResponse(
        await runFunction(decodeRunFunctionRequest(bytes, knownInputs())),
      );
      forgetKeptResources();
      const afresh = await runFunction(decodeRunFunctionRequest(bytes));
      expect(kept.equals(encodeRunFunctionResponse(afresh)), `request ${i}`).toBe(true);
      // Some calls with what this one kept, some without.
      if (random.chance(0.3)) forgetKeptResources();
    }
  });

  it('tells apart values that differ only in -0, in NaN or in the order of their keys', async () => {
    const withValues = (values: unknown[]) => {
      const req = loadRequest(values.length);
      const xr = req.observed!.composite!.resource as { spec: { tools: Obj[] } };
      xr.spec.tools.forEach((tool, i) => (tool.values = { extra: values[i] }));
      return encodeRunFunctionRequest(req);
    };
    const sequences = [
      [0, -0, 0],
      [NaN, 0, NaN],
      [
        { a: 1, b: 2 },
        { b: 2, a: 1 },
      ],
      [[1, 2], [2, 1], { 0: 1, 1: 2 }],
      [null, {}, [], ''],
    ];
    for (const sequence of sequences) {
      for (const value of sequence) {
        const bytes = withValues([value, value]);
        const kept = encodeRunFunctionResponse(
          await runFunction(decodeRunFunctionRequest(bytes, knownInputs())),
        );
        forgetKeptResources();
        const afresh = encodeRunFunctionResponse(
          await runFunction(decodeRunFunctionRequest(bytes)),
        );
        expect(kept.equals(afresh), JSON.stringify(value)).toBe(true);
      }
    }
  });

  it('takes an input equal to a known one as that very object, and decodes any other', () => {
    const random = new Random(7);
    for (let i = 0; i < 500; i++) {
      const known = randomObject(random, 0);
      const request = (input: unknown) =>
        encodeRunFunctionRequest({ input } as unknown as RunFunctionRequest);
      const equal = request(shuffled(known, random));
      const frozen = decodeRunFunctionRequest(request(known)).input!;
      Object.freeze(frozen);
      expect(decodeRunFunctionRequest(equal, [frozen]).input).toBe(frozen);
      // Anything else: decoded, as without known inputs.
      const other = request(shuffled(randomObject(random, 0), random));
      const decoded = decodeRunFunctionRequest(other, [frozen]).input;
      const plain = decodeRunFunctionRequest(other).input;
      expect(decoded).toEqual(plain);
      if (decoded === frozen) expect(plain).toEqual(frozen);
    }
  });

  it('decodes an input that differs in the least from a known one', () => {
    const known = Object.freeze(
      decodeRunFunctionRequest(
        encodeRunFunctionRequest({
          input: { a: 1, b: [1, 2], c: { d: 'x' } },
        } as unknown as RunFunctionRequest),
      ).input!,
    );
    const differing: unknown[] = [
      { a: 1, b: [1, 2], c: { d: 'y' } },
      { a: -0, b: [1, 2], c: { d: 'x' } },
      { a: 1, b: [2, 1], c: { d: 'x' } },
      { a: 1, b: [1, 2, 3], c: { d: 'x' } },
      { a: 1, b: [1, 2], c: { d: 'x', e: null } },
      { a: 1, b: [1, 2], c: {} },
      { a: 1, b: [1, 2] },
      { a: '1', b: [1, 2], c: { d: 'x' } },
      { a: 1, b: { 0: 1, 1: 2 }, c: { d: 'x' } },
    ];
    for (const input of differing) {
      const bytes = encodeRunFunctionRequest({ input } as unknown as RunFunctionRequest);
      const decoded = decodeRunFunctionRequest(bytes, [known]).input;
      expect(decoded).not.toBe(known);
      expect(decoded).toEqual(input);
    }
    // A key sent twice: as many entries as the known input has keys, one of them missing.
    const twice = Buffer.concat([
      Buffer.from([0x22]),
      withLength(Buffer.concat([entry('a', number(1)), entry('a', number(1))])),
    ]);
    const twoKeys = Object.freeze({ a: 1, b: 1 });
    expect(decodeRunFunctionRequest(twice, [twoKeys]).input).toEqual({ a: 1 });
  });
});

// Struct bytes by hand, for what no encoder writes.
function withLength(bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}
function number(value: number): Buffer {
  const double = Buffer.alloc(8);
  double.writeDoubleLE(value);
  return Buffer.concat([Buffer.from([0x11]), double]);
}
function entry(key: string, value: Buffer): Buffer {
  const fields = Buffer.concat([
    Buffer.from([0x0a]),
    withLength(Buffer.from(key)),
    Buffer.from([0x12]),
    withLength(value),
  ]);
  return Buffer.concat([Buffer.from([0x0a]), withLength(fields)]);
}
