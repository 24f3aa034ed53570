/**
 * The function, under each runtime (bench/runtimes.ts: the image's Node, this machine's, the
 * image itself), against two peers under the same load: the native Go port (bench/peer) and
 * function-go-templating. ghz over loopback, plaintext, each server pinned to the same single core
 * (the load generator to the other), 16 concurrent streams; and a fixed-rate, open-loop client
 * (bench/load) for latency as Crossplane feels it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import {
  RunFunctionRequest,
  type RunFunctionResponse,
} from '@crossplane-org/function-sdk-typescript';
import { connectFunction } from '../test/support/function-server.js';
import { loadRequest } from '../test/support/requests.js';
import { freePort } from '../test/support/net.js';
import { listening } from '../test/controlplane/processes.js';
import { cpuSeconds, peakRssMiB } from '../test/support/proc.js';
import type { Runtime } from './runtimes.js';

const BIN = '.tools/bin';
const BUILT = 'dist/bench';
const PROTO = 'bench/proto/run_function.proto';
const CALL = 'apiextensions.fn.proto.v1.FunctionRunnerService/RunFunction';
const SERVER_CORE = '0';
const LOAD_CORE = '1';
const TEMPLATE = 'bench/go-templating/environment.gotmpl';

type Obj = Record<string, unknown>;

export interface Server {
  name: string;
  command: string;
  args: (port: number) => string[];
  /** Set on top of the benchmark's own environment, or the whole of it with `ownEnv`. */
  env?: Readonly<Record<string, string>>;
  ownEnv?: boolean;
  /** The benchmark's request of `tools` tools, as this server takes it. */
  request: (tools: number) => RunFunctionRequest;
  /** Answers RunFunction with an empty response (a floor), or is `node` alone (no gRPC). */
  floor?: 'grpc' | 'node';
}

/** The function as `runtime` runs it: with the image's flags and environment. */
export function ours(runtime: Runtime): Server {
  return {
    name: `function-xenvironment (${runtime.label})`,
    command: runtime.function[0]!,
    args: (port) => [...runtime.function.slice(1), '--insecure', '--address', `127.0.0.1:${port}`],
    env: runtime.env,
    ownEnv: true,
    request: loadRequest,
  };
}

/** `node` alone, listening on the port (the earliest any Node server can answer), and grpc-js. */
function floors(runtime: Runtime): Server[] {
  const listen = (port: number) =>
    runtime.node(`require('net').createServer().listen(${port}, '127.0.0.1')`);
  const found: Server[] = [
    {
      name: `node alone (${runtime.label})`,
      command: listen(0)[0]!,
      args: (port) => listen(port).slice(1),
      env: runtime.env,
      ownEnv: true,
      request: loadRequest,
      floor: 'node',
    },
  ];
  const { grpcFloor } = runtime;
  if (grpcFloor) {
    found.push({
      name: `node + grpc-js (${runtime.label})`,
      command: grpcFloor('')[0]!,
      args: (port) => grpcFloor(`127.0.0.1:${port}`).slice(1),
      env: runtime.env,
      ownEnv: true,
      request: loadRequest,
      floor: 'grpc',
    });
  }
  return found;
}
export const goPort: Server = {
  name: 'Go port (grpc-go)',
  command: join(BUILT, 'peer'),
  args: (port) => ['--address', `127.0.0.1:${port}`],
  request: loadRequest,
};

const template = await readFile(TEMPLATE, 'utf8');
export const goTemplating: Server = {
  name: 'function-go-templating v0.12.2',
  command: join(BIN, 'function-go-templating'),
  args: (port) => ['--insecure', '--address', `127.0.0.1:${port}`],
  // The template is the input; the catalogue comes as an EnvironmentConfig's data would.
  request: (tools) => {
    const req = loadRequest(tools);
    return {
      ...req,
      input: {
        apiVersion: 'gotemplating.fn.crossplane.io/v1beta1',
        kind: 'GoTemplate',
        source: 'Inline',
        inline: { template },
      },
      context: { 'apiextensions.crossplane.io/environment': req.input },
    };
  },
};
export const peers = [goPort, goTemplating];

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
    env: server.ownEnv ? { ...server.env } : { ...process.env, ...server.env },
  });
  // Poll the port, not RunFunction: a gRPC client that was refused backs off for a second.
  while (!(await listening(port))) {
    if (performance.now() - started > 15_000) throw new Error(`${server.name} did not listen`);
    await new Promise((done) => setTimeout(done, 1));
  }
  if (server.floor === 'node') {
    return { process: child, address, coldStartMs: performance.now() - started };
  }
  const client = connectFunction(address, grpc.credentials.createInsecure());
  try {
    await client.call(server.request(1));
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
  cpuMicros: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

function ghz(
  address: string,
  dataFile: string,
  options: { requests: number; concurrency: number },
): Omit<LoadResult, 'cpuMicros'> {
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
      '-B',
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

/** The request as protobuf bytes, which both ghz (--binary) and bench/load send as they are. */
async function writeRequest(server: Server, tools: number, dir: string): Promise<string> {
  const file = join(
    dir,
    `${peers.includes(server) ? peers.indexOf(server) : 'ours'}-request-${tools}.bin`,
  );
  await writeFile(file, RunFunctionRequest.encode(server.request(tools)).finish());
  return file;
}

/**
 * What both must agree on: the composed resources and their readiness, the XR's status and
 * readiness and, where the peer can return them, the summary (a Result) and the conditions.
 */
function view(rsp: RunFunctionResponse, parts: { summary: boolean; conditions: boolean }) {
  return {
    resources: Object.fromEntries(
      Object.entries(rsp.desired!.resources).map(([k, r]) => [
        k,
        { resource: withoutEmptyAnnotations(r.resource!), ready: r.ready },
      ]),
    ),
    status: rsp.desired!.composite!.resource!.status,
    ready: rsp.desired!.composite!.ready,
    ...(parts.summary ? { summary: rsp.results[0]!.message } : {}),
    ...(parts.conditions
      ? {
          conditions: rsp.conditions.map((c) => [c.type, c.status, c.reason, c.message, c.target]),
        }
      : {}),
  };
}

/** function-go-templating leaves `annotations: {}` where it took out its own annotations. */
function withoutEmptyAnnotations(resource: Obj): Obj {
  const metadata = { ...(resource.metadata as Obj | undefined) };
  const annotations = metadata.annotations as Obj | undefined;
  if (!annotations || Object.keys(annotations).length > 0) return resource;
  delete metadata.annotations;
  return { ...resource, metadata };
}

/**
 * Ours and a peer must render the same before they are timed; and ours the same under every
 * runtime (`peer` one of ours, compared in full).
 */
async function sameRendering(a: Running, b: Running, peer: Server, tools: number): Promise<void> {
  const [left, right] = [a, b].map((running) =>
    connectFunction(running.address, grpc.credentials.createInsecure()),
  );
  try {
    const [x, y] = await Promise.all([
      left!.call(loadRequest(tools)),
      right!.call(peer.request(tools)),
    ]);
    const parts = { summary: peer !== goTemplating, conditions: peer !== goPort };
    const [vx, vy] = [x, y].map((rsp) => JSON.stringify(sortKeys(view(rsp, parts))));
    if (vx !== vy) {
      throw new Error(`${peer.name} renders differently for ${tools} tools:\n${vx}\n${vy}`);
    }
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

/** Before a load of `requests`: a tenth of them, at least 50. */
function warmUp(running: Running, data: string, requests: number, concurrency: number): void {
  ghz(running.address, data, { requests: Math.max(50, Math.round(requests / 10)), concurrency });
}

/** A warm-up, then the measured run, with the server's CPU time per request. */
async function timedLoad(
  running: Running,
  data: string,
  requests: number,
  concurrency = 16,
): Promise<LoadResult> {
  warmUp(running, data, requests, concurrency);
  const before = await cpuSeconds(running.process.pid!);
  const result = ghz(running.address, data, { requests, concurrency });
  const cpuMicros = (((await cpuSeconds(running.process.pid!)) - before) * 1e6) / requests;
  return { ...result, cpuMicros };
}

const BURSTS = 5;

/**
 * Each server's load of `counts[i]` requests, in bursts that take turns between the servers, after
 * a warm-up of each: CPU per request over all of its bursts; the rate over their summed time; the
 * medians of the bursts' p50 and p99. Each burst follows a short unmeasured one: a Go server
 * that sat idle while the others ran gives memory back and took 4–22% more CPU per request in
 * the first requests after, where Node took 3–4% more.
 */
async function interleavedLoads(
  runs: Running[],
  data: (i: number) => string,
  counts: number[],
  concurrency = 16,
): Promise<LoadResult[]> {
  runs.forEach((running, i) => warmUp(running, data(i), counts[i]!, concurrency));
  const perBurst = counts.map((count) => Math.round(count / BURSTS));
  const bursts: Omit<LoadResult, 'cpuMicros'>[][] = runs.map(() => []);
  const cpu = runs.map(() => 0);
  for (let burst = 0; burst < BURSTS; burst++) {
    for (const [i, running] of runs.entries()) {
      ghz(running.address, data(i), {
        requests: Math.max(20, Math.round(perBurst[i]! / 5)),
        concurrency,
      });
      const before = await cpuSeconds(running.process.pid!);
      bursts[i]!.push(ghz(running.address, data(i), { requests: perBurst[i]!, concurrency }));
      cpu[i]! += (await cpuSeconds(running.process.pid!)) - before;
    }
  }
  return runs.map((_, i) => {
    const requests = BURSTS * perBurst[i]!;
    const seconds = bursts[i]!.reduce((sum, b) => sum + perBurst[i]! / b.rps, 0);
    const median = (pick: (b: Omit<LoadResult, 'cpuMicros'>) => number) =>
      bursts[i]!.map(pick).sort((x, y) => x - y)[BURSTS >> 1]!;
    return {
      cpuMicros: (cpu[i]! * 1e6) / requests,
      rps: requests / seconds,
      p50Ms: median((b) => b.p50Ms),
      p99Ms: median((b) => b.p99Ms),
      errors: bursts[i]!.reduce((sum, b) => sum + b.errors, 0),
    };
  });
}

function describeLoad(result: LoadResult): string {
  return `${result.rps.toFixed(0)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, ${result.cpuMicros.toFixed(0)} µs CPU/request`;
}

export interface Latencies {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface FixedRate {
  rate: number;
  light: Latencies;
  heavy?: Latencies;
  errors: number;
}

/** bench/load at `rate` requests/s for `seconds`, `heavyShare` of them 200-tool requests. */
function fixedRate(
  running: Running,
  files: { light: string; heavy: string },
  rate: number,
  seconds: number,
  heavyShare = 0,
): FixedRate {
  const out = execFileSync('taskset', [
    '-c',
    LOAD_CORE,
    join(BUILT, 'load'),
    '--address',
    running.address,
    '--rate',
    String(rate),
    '--duration',
    `${seconds}s`,
    '--light',
    files.light,
    '--heavy',
    files.heavy,
    '--heavy-share',
    String(heavyShare),
  ]).toString();
  return JSON.parse(out) as FixedRate;
}

export interface ServerFigures {
  coldStartMs: number;
  /** 10 tools, closed loop. */
  light: LoadResult;
  /** 200 tools, closed loop. */
  heavy: LoadResult;
  rssMiB: number;
}

/** What a runtime gives any Node server: the floors under the function's own figures. */
export interface Floors {
  /** `node` alone, from spawn to listening. */
  nodeStartMs: number;
  /** `node` + grpc-js, from spawn to its first RunFunction answered. */
  grpcStartMs?: number;
  /** `node` + grpc-js idle after that first RunFunction: its peak RSS. */
  grpcRssMiB?: number;
}

export interface FunctionFigures {
  /** Ours under each runtime (the first the headline), then the peers, by name. */
  servers: Record<string, ServerFigures>;
  /** Our servers' names, by runtime label. */
  ours: Record<string, string>;
  floors: Record<string, Floors>;
  runtimes: Runtime[];
  scaling: { tools: number; result: LoadResult }[];
  /**
   * Each at half the rate at which ours (the headline runtime) would fill its core: with light
   * requests only (`rate`), and with 5% heavy ones (`mixedRate`, from the CPU of each kind). The
   * Go port at `rate`, or at half its own saturation where that is less (`goPortRate`).
   */
  fixedRate: {
    rate: number;
    mixedRate: number;
    light: FixedRate;
    mixed: FixedRate;
    goPort: FixedRate;
    goPortRate: number;
  };
  requests: number;
  /** Cold starts per server, in rounds that take turns between them. */
  starts: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

export async function benchFunction(
  dir: string,
  log: (line: string) => void,
  runtimes: Runtime[],
): Promise<FunctionFigures> {
  const requests = Number(process.env.BENCH_REQUESTS ?? 20_000);
  const seconds = Number(process.env.BENCH_FIXED_RATE_SECONDS ?? 20);
  const startRounds = Number(process.env.BENCH_STARTS ?? 11);
  const ourServers = runtimes.map(ours);
  const servers = [...ourServers, ...peers];
  const headline = ourServers[0]!;

  // Cold starts, and the floors under them: rounds that take turns between every server, so
  // that the machine's drift weighs on all alike.
  const floorServers = runtimes.flatMap(floors);
  const started: Record<string, number[]> = {};
  for (let round = 0; round < startRounds; round++) {
    for (const server of [...floorServers, ...servers]) {
      const running = await start(server);
      (started[server.name] ??= []).push(running.coldStartMs);
      await stop(running);
    }
  }
  const coldStarts = Object.fromEntries(
    Object.entries(started).map(([name, times]) => [name, median(times)]),
  );
  for (const [name, ms] of Object.entries(coldStarts)) {
    log(`${name}: start to first answer, median of ${startRounds}: ${ms.toFixed(0)} ms`);
  }
  const floorFigures: Record<string, Floors> = {};
  for (const runtime of runtimes) {
    const figures: Floors = { nodeStartMs: coldStarts[`node alone (${runtime.label})`]! };
    const grpcFloor = floorServers.find((s) => s.name === `node + grpc-js (${runtime.label})`);
    if (grpcFloor) {
      figures.grpcStartMs = coldStarts[grpcFloor.name]!;
      const running = await start(grpcFloor);
      await new Promise((done) => setTimeout(done, 1000));
      figures.grpcRssMiB = await peakRssMiB(running.process.pid!);
      await stop(running);
      log(
        `${grpcFloor.name}: idle after one RunFunction, RSS ${figures.grpcRssMiB.toFixed(1)} MiB`,
      );
    }
    floorFigures[runtime.label] = figures;
  }

  const running = await Promise.all(servers.map(start));
  try {
    for (const [i, server] of servers.entries()) {
      if (i === 0) continue;
      for (const tools of [1, 10, 50, 200]) {
        await sameRendering(running[0]!, running[i]!, server, tools);
      }
      log(`${headline.name} and ${server.name} render the same for 1, 10, 50 and 200 tools`);
    }
  } finally {
    await Promise.all(running.map(stop));
  }

  const figures: FunctionFigures = {
    servers: {},
    ours: Object.fromEntries(runtimes.map((runtime, i) => [runtime.label, ourServers[i]!.name])),
    floors: floorFigures,
    runtimes,
    scaling: [],
    fixedRate: undefined!,
    requests,
    starts: startRounds,
  };
  const files = await Promise.all(
    servers.map(async (server) => ({
      light: await writeRequest(server, 10, dir),
      heavy: await writeRequest(server, 200, dir),
    })),
  );
  // All up at once, each load in bursts that take turns: this machine's speed drifts within
  // minutes, and a drift then weighs on every server alike instead of on whichever ran during it.
  const runs = await Promise.all(servers.map(start));
  try {
    // function-go-templating is several times slower: fewer requests, for a run of similar length.
    const lightCounts = servers.map((server) =>
      server === goTemplating ? Math.round(requests / 5) : requests,
    );
    // A 200-tool request costs ~20 light ones: about the same time budget as the light runs.
    const heavyCounts = lightCounts.map((n) => Math.max(100, Math.round(n / 20)));
    const lightLoads = await interleavedLoads(runs, (i) => files[i]!.light, lightCounts);
    const heavyLoads = await interleavedLoads(runs, (i) => files[i]!.heavy, heavyCounts);
    servers.forEach((server, i) => {
      log(`${server.name}, 10 tools: ${describeLoad(lightLoads[i]!)}`);
      log(`${server.name}, 200 tools: ${describeLoad(heavyLoads[i]!)}`);
    });
    // Peak RSS under the same closed-loop loads for every server, before the fixed-rate runs:
    // a server given more than its core can take queues requests, and its memory with them.
    const rssOf = await Promise.all(runs.map((running) => peakRssMiB(running.process.pid!)));
    const oursAt = 0;
    const oursFiles = files[oursAt]!;
    const halfSaturation = (cpuMicros: number) => Math.round(1e6 / cpuMicros / 2);
    const rate = halfSaturation(lightLoads[oursAt]!.cpuMicros);
    const mixedCpu = 0.95 * lightLoads[oursAt]!.cpuMicros + 0.05 * heavyLoads[oursAt]!.cpuMicros;
    const mixedRate = halfSaturation(mixedCpu);
    const lightOnly = fixedRate(runs[oursAt]!, oursFiles, rate, seconds);
    const mixed = fixedRate(runs[oursAt]!, oursFiles, mixedRate, seconds, 0.05);
    log(
      `${headline.name} at a fixed ${rate} req/s: p99 ${lightOnly.light.p99Ms.toFixed(2)} ms; at ${mixedRate} req/s with 5% heavy: light p99 ${mixed.light.p99Ms.toFixed(2)} ms, heavy p99 ${mixed.heavy?.p99Ms.toFixed(2)} ms`,
    );
    const goPortAt = servers.indexOf(goPort);
    // The Go port at our rate, unless that is more than half of its own saturation.
    const goPortRate = Math.min(rate, halfSaturation(lightLoads[goPortAt]!.cpuMicros));
    const goPortFixed = fixedRate(runs[goPortAt]!, files[goPortAt]!, goPortRate, seconds);
    log(`${goPort.name} at ${goPortRate} req/s: p99 ${goPortFixed.light.p99Ms.toFixed(2)} ms`);
    figures.fixedRate = {
      rate,
      mixedRate,
      light: lightOnly,
      mixed,
      goPort: goPortFixed,
      goPortRate,
    };
    for (const [i, server] of servers.entries()) {
      figures.servers[server.name] = {
        coldStartMs: coldStarts[server.name]!,
        light: lightLoads[i]!,
        heavy: heavyLoads[i]!,
        rssMiB: rssOf[i]!,
      };
      log(`${server.name}: peak RSS ${rssOf[i]!.toFixed(1)} MiB`);
    }
  } finally {
    await Promise.all(runs.map(stop));
  }

  const run = await start(headline);
  try {
    for (const tools of [1, 10, 50, 200]) {
      const data = await writeRequest(headline, tools, dir);
      // Fewer of the larger ones, which cost about proportionally more.
      const n = Math.max(200, Math.round((requests / 4) * Math.min(1, 10 / tools)));
      const result = await timedLoad(run, data, n);
      figures.scaling.push({ tools, result });
      log(`${headline.name} with ${tools} tools: ${describeLoad(result)}`);
    }
  } finally {
    await stop(run);
  }
  return figures;
}
