/**
 * The function against a Go peer under the same load: ghz over loopback, plaintext, both servers
 * pinned to the same single core (the load generator to the other), 16 concurrent streams.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import { connectFunction } from '../test/support/function-server.js';
import { loadRequest } from '../test/support/requests.js';
import { IMAGE_NODE_FLAGS } from '../test/support/image.js';
import { freePort } from '../test/support/net.js';
import { listening } from '../test/controlplane/processes.js';
import { cpuSeconds, peakRssMiB } from '../test/support/proc.js';

const BIN = '.tools/bin';
const PROTO = 'bench/proto/run_function.proto';
const CALL = 'apiextensions.fn.proto.v1.FunctionRunnerService/RunFunction';
const SERVER_CORE = '0';
const LOAD_CORE = '1';

type Obj = Record<string, unknown>;

export interface Server {
  name: string;
  command: string;
  args: (port: number) => string[];
}

export const ours: Server = {
  name: 'function-xenvironment (Node)',
  command: process.execPath,
  // As the image runs it: the bundle, with the image's heap settings.
  args: (port) => [
    ...IMAGE_NODE_FLAGS,
    'dist/bundle/function/main.mjs',
    '--insecure',
    '--address',
    `127.0.0.1:${port}`,
  ],
};
export const peer: Server = {
  name: 'Go peer (grpc-go)',
  command: join(BIN, 'peer'),
  args: (port) => ['--address', `127.0.0.1:${port}`],
};

interface Running {
  process: ChildProcess;
  address: string;
  /** Milliseconds from spawn to the first successful RunFunction. */
  coldStartMs: number;
}

async function start(server: Server): Promise<Running> {
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const started = performance.now();
  const child = spawn('taskset', ['-c', SERVER_CORE, server.command, ...server.args(port)], {
    stdio: 'ignore',
  });
  // Poll the port, not RunFunction: a gRPC client that was refused backs off for a second.
  while (!(await listening(port))) {
    if (performance.now() - started > 15_000) throw new Error(`${server.name} did not listen`);
    await new Promise((done) => setTimeout(done, 1));
  }
  const client = connectFunction(address, grpc.credentials.createInsecure());
  try {
    await client.call(loadRequest(1));
  } finally {
    client.close();
  }
  return { process: child, address, coldStartMs: performance.now() - started };
}

async function stop(running: Running): Promise<void> {
  const exited = new Promise((done) => running.process.once('exit', done));
  running.process.kill('SIGTERM');
  await exited;
}

export interface LoadResult {
  /** Server CPU time per request, which the load generator's own speed cannot cap. */
  cpuMicros?: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

function ghz(
  address: string,
  dataFile: string,
  options: { requests: number; concurrency: number },
): LoadResult {
  const out = execFileSync(
    'taskset',
    [
      '-c',
      LOAD_CORE,
      join(BIN, 'ghz'),
      '--insecure',
      '--proto',
      PROTO,
      '--call',
      CALL,
      '-D',
      dataFile,
      '-c',
      String(options.concurrency),
      '-n',
      String(options.requests),
      '--format',
      'json',
      address,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  ).toString();
  const report = JSON.parse(out) as {
    rps: number;
    latencyDistribution: { percentage: number; latency: number }[];
    statusCodeDistribution: Record<string, number>;
  };
  const at = (p: number) =>
    report.latencyDistribution.find((d) => d.percentage === p)!.latency / 1e6;
  const errors = Object.entries(report.statusCodeDistribution)
    .filter(([code]) => code !== 'OK')
    .reduce((sum, [, n]) => sum + n, 0);
  return { rps: report.rps, p50Ms: at(50), p99Ms: at(99), errors };
}

/** The request as ghz reads it: protobuf JSON, which is what RunFunctionRequest.toJSON gives. */
async function writeRequest(count: number, dir: string): Promise<string> {
  const file = join(dir, `request-${count}.json`);
  await writeFile(file, JSON.stringify(RunFunctionRequest.toJSON(loadRequest(count))));
  return file;
}

/** Both must render the same composed resources and XR status before they are timed. */
async function sameRendering(a: string, b: string, count: number): Promise<void> {
  const [left, right] = [a, b].map((address) =>
    connectFunction(address, grpc.credentials.createInsecure()),
  );
  try {
    const [x, y] = await Promise.all([
      left!.call(loadRequest(count)),
      right!.call(loadRequest(count)),
    ]);
    const view = (rsp: typeof x) => ({
      resources: Object.fromEntries(
        Object.entries(rsp.desired!.resources).map(([k, r]) => [
          k,
          { resource: r.resource, ready: r.ready },
        ]),
      ),
      status: rsp.desired!.composite!.resource!.status,
      ready: rsp.desired!.composite!.ready,
      message: rsp.results[0]!.message,
    });
    const [vx, vy] = [JSON.stringify(sortKeys(view(x))), JSON.stringify(sortKeys(view(y)))];
    if (vx !== vy) throw new Error(`the two render differently for ${count} tools:\n${vx}\n${vy}`);
  } finally {
    left!.close();
    right!.close();
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Obj)[k])]),
    );
  }
  return value;
}

/** A warm-up, then the measured run, with the server's CPU time per request. */
async function timedLoad(
  running: Running,
  data: string,
  requests: number,
  concurrency: number,
): Promise<LoadResult> {
  ghz(running.address, data, { requests: Math.min(2_000, requests), concurrency });
  const before = await cpuSeconds(running.process.pid!);
  const result = ghz(running.address, data, { requests, concurrency });
  result.cpuMicros = (((await cpuSeconds(running.process.pid!)) - before) * 1e6) / requests;
  return result;
}

function describeLoad(result: LoadResult): string {
  return `${result.rps.toFixed(0)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, ${result.cpuMicros!.toFixed(0)} µs CPU/request`;
}

export interface FunctionFigures {
  load: Record<string, LoadResult & { rssMiB: number }>;
  coldStartMs: Record<string, number>;
  scaling: { tools: number; result: LoadResult }[];
  requests: number;
}

export async function benchFunction(
  dir: string,
  log: (line: string) => void,
): Promise<FunctionFigures> {
  const requests = Number(process.env.BENCH_REQUESTS ?? 20_000);
  const concurrency = 16;
  const data10 = await writeRequest(10, dir);
  const figures: FunctionFigures = { load: {}, coldStartMs: {}, scaling: [], requests };

  for (const server of [ours, peer]) {
    const starts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const running = await start(server);
      starts.push(running.coldStartMs);
      await stop(running);
    }
    starts.sort((a, b) => a - b);
    figures.coldStartMs[server.name] = starts[2]!;
    log(`${server.name}: cold start median of 5: ${starts[2]!.toFixed(0)} ms`);
  }

  const [a, b] = [await start(ours), await start(peer)];
  try {
    for (const count of [1, 10, 50, 200]) await sameRendering(a.address, b.address, count);
    log('both render the same resources and status for 1, 10, 50 and 200 tools');
  } finally {
    await stop(a);
    await stop(b);
  }

  for (const server of [ours, peer]) {
    const running = await start(server);
    try {
      const result = await timedLoad(running, data10, requests, concurrency);
      const rssMiB = await peakRssMiB(running.process.pid!);
      figures.load[server.name] = { ...result, rssMiB };
      log(
        `${server.name}: ${describeLoad(result)}, peak RSS ${rssMiB.toFixed(1)} MiB, ${result.errors} errors`,
      );
    } finally {
      await stop(running);
    }
  }

  const running = await start(ours);
  try {
    for (const tools of [1, 10, 50, 200]) {
      const data = await writeRequest(tools, dir);
      const result = await timedLoad(
        running,
        data,
        Math.max(1_000, Math.round(requests / 4)),
        concurrency,
      );
      figures.scaling.push({ tools, result });
      log(`ours with ${tools} tools: ${describeLoad(result)}`);
    }
  } finally {
    await stop(running);
  }
  return figures;
}
