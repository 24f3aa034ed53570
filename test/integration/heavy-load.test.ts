import { readFile } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { Severity } from '@crossplane-org/function-sdk-typescript';
import {
  decodeRunFunctionResponse,
  encodeRunFunctionRequest,
} from '../../function/codec/messages.js';
import { freePort } from '../support/net.js';
import { fitShape, requestCarrying, type Shape } from '../support/big-values.js';
import { startMain } from '../support/function-binary.js';
import { IMAGE_NODE_FLAGS } from '../support/image.js';
import { BYTES, connectFunction } from '../support/function-server.js';
import { loadRequest } from '../support/requests.js';

const MiB = 1024 * 1024;
/** The default --max-recv-message-size. */
const LIMIT = 4 * MiB;
/** The costliest shapes for the heap (see bench/request-memory.ts), and a plain long list. */
const SHAPES: Shape[] = ['emptyObjects', 'deepLists', 'emptyLists', 'deepObjects', 'numbers'];
/** Shapes nested far deeper than chart values may be (limits.valuesDepth). */
const DEEPER_THAN_ALLOWED: Shape[] = ['deepLists', 'deepObjects'];
const AT_ONCE = 10;
const ROUNDS = 2;

/** Peak heap in MiB, from the `--trace-gc` lines: each states the heap before it collected. */
function peakHeapMiB(output: string): number {
  const before = [...output.matchAll(/: (?:Scavenge|Mark-Compact|Mark-sweep)\S* ([\d.]+) \(/g)];
  return Math.max(...before.map((match) => Number(match[1])));
}

describe('the largest requests, many at once', () => {
  it(
    'leave the function alive under the image heap flags, and every call gets an answer',
    { timeout: 600_000 },
    async () => {
      const requests = SHAPES.map((shape) =>
        encodeRunFunctionRequest(
          requestCarrying(
            fitShape(
              shape,
              LIMIT - 64 * 1024,
              (v) => encodeRunFunctionRequest(requestCarrying(v)).length,
            ),
          ),
        ),
      );
      for (const bytes of requests) expect(bytes.length).toBeGreaterThan(LIMIT - 128 * 1024);
      expect(Math.max(...requests.map((bytes) => bytes.length))).toBeLessThanOrEqual(LIMIT);

      const port = await freePort();
      const address = `127.0.0.1:${port}`;
      const main = startMain(['--insecure', '--address', address], {}, [
        ...IMAGE_NODE_FLAGS,
        '--trace-gc',
      ]);
      await main.printed('function listening');
      const big = connectFunction(
        address,
        grpc.credentials.createInsecure(),
        'v1',
        { 'grpc.max_send_message_length': 64 * MiB, 'grpc.max_receive_message_length': 64 * MiB },
        BYTES,
      );
      const light = connectFunction(address, grpc.credentials.createInsecure());
      const answered = { big: 0, refused: 0, light: 0 };
      try {
        for (let round = 0; round < ROUNDS; round++) {
          const bigCalls = Array.from({ length: AT_ONCE }, (_, i) => {
            const shape = (i + round) % requests.length;
            return big.call(requests[shape]!, 300_000).then(
              (bytes) => {
                const rsp = decodeRunFunctionResponse(bytes);
                const fatal = rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL);
                // Values nested deeper than the limit are the claim's fault; the rest renders.
                if (DEEPER_THAN_ALLOWED.includes(SHAPES[shape]!)) {
                  expect(fatal).toMatchObject([
                    { reason: 'InvalidInput', message: expect.stringMatching(/nested deeper/) },
                  ]);
                } else {
                  expect(fatal).toEqual([]);
                }
                answered.big++;
              },
              (error: grpc.ServiceError) => {
                expect(error.code, error.message).toBe(grpc.status.RESOURCE_EXHAUSTED);
                expect(error.details).toMatch(/^the function is busy/);
                answered.refused++;
              },
            );
          });
          const lightCalls = [10, 50].map((tools) =>
            light.call(loadRequest(tools), 300_000).then((rsp) => {
              expect(rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL)).toEqual([]);
              answered.light++;
            }),
          );
          await Promise.all([...bigCalls, ...lightCalls]);
          expect(main.child.exitCode, main.output().slice(-3000)).toBeNull();
        }
        expect(answered.big + answered.refused).toBe(AT_ONCE * ROUNDS);
        expect(answered.big).toBeGreaterThanOrEqual(SHAPES.length);
        expect(answered.light).toBe(2 * ROUNDS);

        const status = await readFile(`/proc/${main.child.pid}/status`, 'utf8');
        const rssMiB = Number(/VmHWM:\s+(\d+)/.exec(status)![1]) / 1024;
        console.log(
          `heavy load: ${answered.big} big answers, ${answered.refused} refused as busy, ` +
            `${answered.light} light answers; peak RSS ${rssMiB.toFixed(0)} MiB, ` +
            `peak heap ${peakHeapMiB(main.output()).toFixed(0)} MiB ` +
            `(requests of ${requests.map((b) => (b.length / MiB).toFixed(2)).join(', ')} MiB)`,
        );
      } finally {
        big.close();
        light.close();
        main.child.kill('SIGTERM');
        await main.exited;
      }
    },
  );
});
