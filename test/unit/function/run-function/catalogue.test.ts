/** The catalogue, read once per distinct input, and what composing with a kept reading gives. */
import { describe, expect, it } from 'vitest';
import { CLUSTER_KEY, toolKey } from '../../../../common/contract.js';
import { clusterBackends } from '../../../../function/backends/index.js';
import { parseCatalog } from '../../../../function/input/catalog.js';
import { runFunction } from '../../../../function/run-function.js';
import { FieldError } from '../../../../function/input/untrusted-input.js';
import { loadRequest, observedResource, request, xEnvironment } from '../../../support/requests.js';
import { catalog, type Obj } from '../../../support/run-function.js';

describe('the catalogue, read once per distinct input', () => {
  const reversed = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(reversed);
    if (typeof value !== 'object' || value === null) return value;
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reversed(v)]),
    );
  };

  it('is the same reading for an equal input, keys in any order; another for any difference', () => {
    // Not read before in this file.
    const input = structuredClone(catalog) as { tools: { namespace: string }[] };
    input.tools[0]!.namespace = 'first';
    const first = parseCatalog(input, clusterBackends);
    expect(parseCatalog(reversed(structuredClone(input)), clusterBackends)).toBe(first);
    // Read from a frozen input: no response can change it for the next request.
    expect(Object.isFrozen(input)).toBe(true);
    const changed = structuredClone(catalog) as { tools: { namespace: string }[] };
    changed.tools[0]!.namespace = 'elsewhere';
    const other = parseCatalog(changed, clusterBackends);
    expect(other).not.toBe(first);
    expect(other.tools.get('cert-manager')!.namespace).toBe('elsewhere');
    // As many keys, one named differently; one key more.
    const valued = (values: Obj) => {
      const input = structuredClone(catalog) as { tools: { values?: Obj }[] };
      input.tools[0]!.values = values;
      return parseCatalog(input, clusterBackends);
    };
    const ab = valued({ a: 1, b: 2 });
    expect(valued({ a: 1, c: 2 })).not.toBe(ab);
    expect(valued({ a: 1, b: 2, c: 3 })).not.toBe(valued({ a: 1, b: 2 }));
    // -0 and 0 are different values on the wire.
    const negative = structuredClone(catalog) as { tools: { values?: Obj }[] };
    negative.tools[0]!.values = { n: -0 };
    const positive = structuredClone(catalog) as { tools: { values?: Obj }[] };
    positive.tools[0]!.values = { n: 0 };
    expect(parseCatalog(negative, clusterBackends)).not.toBe(
      parseCatalog(positive, clusterBackends),
    );
  });

  it('keeps only the most recent few, and reads a catalogue in error every time', () => {
    const first = parseCatalog(structuredClone(catalog), clusterBackends);
    for (let n = 0; n < 8; n++) {
      const other = structuredClone(catalog) as { tools: { namespace: string }[] };
      other.tools[0]!.namespace = `ns-${n}`;
      parseCatalog(other, clusterBackends);
    }
    expect(parseCatalog(structuredClone(catalog), clusterBackends)).not.toBe(first);
    const broken = { ...structuredClone(catalog), kind: 'NotACatalog' };
    expect(() => parseCatalog(broken, clusterBackends)).toThrow(FieldError);
    expect(() => parseCatalog(structuredClone(broken), clusterBackends)).toThrow(FieldError);
  });

  it('composes what a fresh reading composes, for requests that share it', async () => {
    const allReady = observedResource('Release', { ready: true });
    const requests = () => [
      loadRequest(1),
      loadRequest(200),
      request(xEnvironment({ tools: [{ name: 'cert-manager' }] }), structuredClone(catalog)),
      // Readiness Objects composed and read: the tool is Starting.
      request(xEnvironment({ tools: [{ name: 'cert-manager' }] }), structuredClone(catalog), {
        [CLUSTER_KEY]: allReady,
        [toolKey('cert-manager')]: allReady,
      }),
    ];
    const fresh = [];
    for (const req of requests()) {
      // Another registry: nothing read before for it.
      fresh.push(await runFunction(req, { backends: new Map(clusterBackends) }));
    }
    for (let round = 0; round < 2; round++) {
      const again = [];
      for (const req of requests()) again.push(await runFunction(req));
      expect(again).toEqual(fresh);
    }
  });
});
