/**
 * Heap taken by one request at the message size limit, per MiB of request, for the shapes of
 * value that cost the most (test/support/big-values.ts): what the admission budget is made of.
 *
 *   node --expose-gc --max-semi-space-size=64 --import tsx bench/request-memory.ts
 *
 * (a young generation large enough that no collection runs inside a step: the figure after each
 * step, before collecting, includes that step's garbage, so it bounds the peak from above).
 */
import { pino } from 'pino';
import { runFunction } from '../function/run-function.js';
import {
  decodeRunFunctionRequest,
  encodeRunFunctionRequest,
  encodeRunFunctionResponse,
} from '../function/codec/messages.js';
import { fitShape, requestCarrying, SHAPES, type Shape } from '../test/support/big-values.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const MiB = 1024 * 1024;
const LIMIT = 4 * MiB;
const logger = pino({ level: 'silent' });

const heap = () => process.memoryUsage().heapUsed;
const size = (value: unknown) => encodeRunFunctionRequest(requestCarrying(value)).length;

console.log(
  'shape: request MiB; heap MiB after decode, runFunction, encode (peak per MiB of request)',
);
let worst = 0;
for (const shape of Object.keys(SHAPES) as Shape[]) {
  const bytes = encodeRunFunctionRequest(requestCarrying(fitShape(shape, LIMIT - 64 * 1024, size)));
  gc();
  const base = heap();
  const req = decodeRunFunctionRequest(bytes);
  const decoded = heap() - base;
  const rsp = await runFunction(req, { logger });
  const ran = heap() - base;
  const encoded = encodeRunFunctionResponse(rsp);
  const afterEncode = heap() - base;
  const perMiB = Math.max(decoded, ran, afterEncode) / bytes.length;
  worst = Math.max(worst, perMiB);
  console.log(
    `${shape}: ${(bytes.length / MiB).toFixed(2)}; ${(decoded / MiB).toFixed(1)}, ` +
      `${(ran / MiB).toFixed(1)}, ${(afterEncode / MiB).toFixed(1)} (${perMiB.toFixed(1)}) ` +
      `→ response ${(encoded.length / MiB).toFixed(2)} MiB`,
  );
}
console.log(`worst: ${worst.toFixed(1)} MiB of heap per MiB of request`);
