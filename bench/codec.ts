/**
 * CPU per RunFunction in-process, without gRPC: bytes in → decode → runFunction → encode → bytes
 * out, with the SDK's codec and with ours, on the load requests (test/support/requests.ts).
 *
 *   node --max-semi-space-size=4 --max-old-space-size=128 --import tsx bench/codec.ts
 *
 * (the image's heap flags, under which garbage collection costs what it costs in the pod).
 */
import { RunFunctionRequest, RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';
import { pino } from 'pino';
import { runFunction } from '../function/run-function.js';
import { decodeRunFunctionRequest, encodeRunFunctionResponse } from '../function/codec/messages.js';
import { loadRequest } from '../test/support/requests.js';

interface Codec {
  name: string;
  decode(bytes: Buffer): RunFunctionRequest;
  encode(rsp: RunFunctionResponse): Uint8Array;
}

const codecs: Codec[] = [
  {
    name: 'SDK codec',
    decode: (bytes) => RunFunctionRequest.decode(bytes),
    encode: (rsp) => RunFunctionResponse.encode(rsp).finish(),
  },
  // As the server calls it.
  {
    name: 'our codec',
    decode: decodeRunFunctionRequest,
    encode: (rsp) => encodeRunFunctionResponse(rsp),
  },
];

const logger = pino({ level: 'silent' });
const cpuMicros = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

/** CPU µs per request for the whole path, and wall-clock µs for each step. */
async function measure(codec: Codec, bytes: Buffer, requests: number) {
  const steps = { decode: 0, run: 0, encode: 0 };
  const cpuBefore = cpuMicros();
  for (let i = 0; i < requests; i++) {
    const t0 = performance.now();
    const req = codec.decode(bytes);
    const t1 = performance.now();
    const rsp = await runFunction(req, { logger });
    const t2 = performance.now();
    codec.encode(rsp);
    const t3 = performance.now();
    steps.decode += t1 - t0;
    steps.run += t2 - t1;
    steps.encode += t3 - t2;
  }
  const perRequest = (ms: number) => ((ms * 1000) / requests).toFixed(0);
  return {
    cpu: ((cpuMicros() - cpuBefore) / requests).toFixed(0),
    decode: perRequest(steps.decode),
    run: perRequest(steps.run),
    encode: perRequest(steps.encode),
  };
}

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
for (const tools of [10, 200]) {
  const bytes = Buffer.from(RunFunctionRequest.encode(loadRequest(tools)).finish());
  const requests = Math.round(200_000 / (tools + 10));
  console.log(`${tools} tools: request ${bytes.length} bytes, ${requests} requests per round`);
  for (const codec of codecs) await measure(codec, bytes, Math.ceil(requests / 4)); // warm-up
  for (let round = 1; round <= rounds; round++) {
    for (const codec of codecs) {
      const r = await measure(codec, bytes, requests);
      console.log(
        `  round ${round} ${codec.name}: ${r.cpu} µs CPU/request ` +
          `(decode ${r.decode}, runFunction ${r.run}, encode ${r.encode} µs wall)`,
      );
    }
  }
}
