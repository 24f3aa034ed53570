/**
 * Bounded fuzzing with a fixed seed: hostile requests (test/support/hostile.ts) in-process through
 * runFunction, then over gRPC against the built bundle run as the image runs it (bounded heap).
 * Every answer is a success or a Fatal naming a field of the request that passes the desired state
 * through; nothing observed is dropped unless the claim dropped that tool; the process never dies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import {
  RunFunctionRequest,
  type RunFunctionResponse,
} from '@crossplane-org/function-sdk-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_NAMESPACE_KEY } from '../../common/contract.js';
import { runFunction } from '../../function/run-function.js';
import { IMAGE_NODE_FLAGS } from '../support/image.js';
import { freePort } from '../support/net.js';
import {
  decodeRunFunctionRequest,
  decodeRunFunctionResponse,
  encodeRunFunctionRequest,
} from '../../function/codec/messages.js';
import { BYTES, connectFunction, type FunctionClient } from '../support/function-server.js';
import {
  chainCatalog,
  generate,
  largeParts,
  nestedValue,
  toRequest,
  verdict,
  type Parts,
} from '../support/hostile.js';
import { Random } from '../support/random.js';
import { shippedCatalog } from '../support/requests.js';

type Obj = Record<string, unknown>;
const BUNDLE = 'dist/bundle/function/main.mjs';
const IN_PROCESS_REQUESTS = 3_000;
const GRPC_REQUESTS = 10_000;
/** The gRPC run stops early past this, on a slow machine; it reports how far it got. */
const GRPC_BUDGET_MS = 45_000;
const MiB = 1024 * 1024;

/** A request's bytes as sent, and the request the server decodes from them. */
interface Sendable {
  bytes: Buffer;
  decoded: RunFunctionRequest;
}

/**
 * The request on the wire: our encoder writes any depth but refuses shapes a protobuf Struct cannot
 * hold (say, a list as the input); the SDK's writes those as it would send them, if not too deep.
 * Undefined when neither can: no client could send it.
 */
function sendable(parts: Parts): Sendable | undefined {
  const req = toRequest(parts);
  let bytes: Buffer;
  try {
    bytes = encodeRunFunctionRequest(req);
  } catch {
    try {
      bytes = Buffer.from(RunFunctionRequest.encode(req).finish());
    } catch {
      return undefined;
    }
  }
  return { bytes, decoded: decodeRunFunctionRequest(bytes) };
}

/** Whether the SDK's own decoder (what this function used before its codec) can read it. */
function sdkDecodes(bytes: Buffer): boolean {
  try {
    RunFunctionRequest.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** `count` requests, the fixed ones first, then generated; those the SDK could or could not read. */
function requests(seed: number, count: number, sdkReadable: boolean): () => Sendable | undefined {
  const random = new Random(seed);
  const fixed = fixedParts();
  let produced = 0;
  return () => {
    while (produced < count) {
      const item = sendable(fixed.shift() ?? generate(random, catalog));
      if (item && sdkDecodes(item.bytes) === sdkReadable) {
        produced++;
        return item;
      }
    }
    return undefined;
  };
}

let catalog: Obj;
beforeAll(async () => {
  catalog = await shippedCatalog();
});

/** Requests every run includes, whatever the generator draws. */
function fixedParts(): Parts[] {
  const base = (): Parts => ({
    xr: {
      apiVersion: 'platform.xenvironment.io/v1alpha1',
      kind: 'XEnvironment',
      metadata: { name: 'fixed' },
      spec: { tools: [{ name: 'cert-manager' }] },
    },
    input: structuredClone(catalog),
    observed: {},
    desired: {},
  });
  const withInput = (input: Obj): Parts => ({ ...base(), input });
  const withSpec = (spec: Obj): Parts => {
    const parts = base();
    (parts.xr as Obj).spec = spec;
    return parts;
  };
  return [
    withInput(chainCatalog(catalog, 5_000)),
    withInput(chainCatalog(catalog, 10_000, true)),
    withInput(chainCatalog(catalog, 1_024)),
    withInput(chainCatalog(catalog, 1_024, true)),
    withSpec({ ttl: '99999999999999999999d' }),
    withSpec({ ttl: '10000000d' }),
    withSpec({ tools: [{ name: 'cert-manager', values: { resources: nestedValue(100_000) } }] }),
    largeParts(catalog, 4 * MiB - 64 * 1024),
    largeParts(catalog, 3 * MiB),
  ];
}

function summarize(verdicts: { fatal: boolean; problems: string[] }[]) {
  const problems = verdicts.flatMap((v) => v.problems);
  return {
    requests: verdicts.length,
    fatal: verdicts.filter((v) => v.fatal).length,
    problems: [...new Set(problems)].slice(0, 20),
  };
}

describe('hostile requests in-process', () => {
  it(`answer ${IN_PROCESS_REQUESTS} generated requests with a success or a Fatal that names a field`, async () => {
    const random = new Random(0x5eed);
    const verdicts = [];
    for (const parts of [
      ...fixedParts(),
      ...Array.from({ length: IN_PROCESS_REQUESTS }, () => generate(random, catalog)),
    ]) {
      const req = toRequest(parts);
      const desiredBefore = structuredClone(req.desired);
      const rsp = await runFunction(req);
      verdicts.push(verdict({ ...req, desired: desiredBefore }, rsp));
    }
    const summary = summarize(verdicts);
    console.log('fuzz in-process:', JSON.stringify(summary));
    expect(summary.problems).toEqual([]);
    // The generator must reach both outcomes in earnest.
    expect(summary.fatal).toBeGreaterThan(summary.requests / 5);
    expect(summary.requests - summary.fatal).toBeGreaterThan(summary.requests / 5);
  }, 120_000);
});

describe('hostile requests over gRPC, against the bundle under the image heap flags', () => {
  let child: ChildProcess;
  let client: FunctionClient<Buffer, Buffer>;
  let output = '';
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  beforeAll(async () => {
    expect(existsSync(BUNDLE), `${BUNDLE} (run npm run build)`).toBe(true);
    const port = await freePort();
    child = spawn(process.execPath, [
      ...IMAGE_NODE_FLAGS,
      BUNDLE,
      '--insecure',
      '--address',
      `127.0.0.1:${port}`,
    ]);
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code, signal) => (exit = { code, signal }));
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        if (output.includes('function listening')) resolve();
        else if (exit) reject(new Error(`function exited: ${output}`));
        else return;
        clearInterval(poll);
      }, 20);
    });
    // Bytes both ways: the SDK's codec can neither write nor read the deepest requests.
    client = connectFunction(
      `127.0.0.1:${port}`,
      grpc.credentials.createInsecure(),
      'v1',
      {
        'grpc.max_send_message_length': 64 * MiB,
        'grpc.max_receive_message_length': 64 * MiB,
      },
      BYTES,
    );
    await client.call(sendable(largeParts(catalog, 10))!.bytes);
  });

  afterAll(async () => {
    client?.close();
    if (child && !exit) {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await exited;
    }
  });

  /**
   * Sends what `source` gives (until it gives nothing, or `budgetMs` has passed), a few requests in
   * flight, and checks every answer against what the server decoded.
   */
  async function send(source: () => Sendable | undefined, budgetMs = Infinity) {
    const started = Date.now();
    const verdicts: { fatal: boolean; problems: string[] }[] = [];
    const worker = async () => {
      while (Date.now() - started < budgetMs) {
        const item = source();
        if (!item) return;
        const { bytes, decoded } = item;
        let rsp: RunFunctionResponse;
        try {
          rsp = decodeRunFunctionResponse(await client.call(bytes));
        } catch (error) {
          verdicts.push({ fatal: false, problems: [`gRPC error: ${String(error).slice(0, 200)}`] });
          continue;
        }
        // Checked against what the server saw: the request as decoded from the same bytes.
        verdicts.push(verdict(decoded, rsp));
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    return { ...summarize(verdicts), seconds: (Date.now() - started) / 1000 };
  }

  it(`answer up to ${GRPC_REQUESTS} generated requests, and the process lives`, async () => {
    const summary = await send(requests(0xf022, GRPC_REQUESTS, true), GRPC_BUDGET_MS);
    console.log('fuzz over gRPC:', JSON.stringify(summary));
    expect(summary.problems).toEqual([]);
    expect(summary.requests).toBeGreaterThanOrEqual(1_000);
    expect(exit, output).toBeUndefined();
  }, 120_000);

  // The SDK's decoder answered INTERNAL for Structs nested beyond ~30 levels; ours takes any depth.
  it('answer requests the SDK decoder could not read (values nested beyond ~30 levels)', async () => {
    const summary = await send(requests(0xdee9, 50, false));
    console.log('fuzz over gRPC, deep values:', JSON.stringify(summary));
    expect(summary.problems).toEqual([]);
  });

  it('leave the process alive and answering', async () => {
    expect(exit, output).toBeUndefined();
    const rsp = decodeRunFunctionResponse(
      await client.call(sendable(largeParts(catalog, 10))!.bytes),
    );
    expect(rsp.desired?.resources).toHaveProperty(HOST_NAMESPACE_KEY);
  });
});
