/** npm run bench: every benchmark, one summary table, also written to bench/results.md. */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { benchFunction, servers, type ServerFigures } from './function.js';
import { benchBridge, type BridgeFigures, type BridgeUnderTest } from './bridge.js';

const log = (line: string) => console.log(`bench: ${line}`);

interface Row {
  figure: string;
  /** Ours, the Go port, function-go-templating. */
  values: [string, string?, string?];
  goal?: string;
}

const fmt = (value: number, digits = 1) => value.toFixed(digits);
const ratio = (a: number, b: number | undefined) => (b ? `${fmt(a / b, 2)}×` : '');

/** A figure of all three, with our ratios to each peer. */
function compared(
  figure: string,
  values: [number, number, number],
  digits: number,
  goal = '',
): Row & { ratios: [string, string] } {
  return {
    figure,
    values: [fmt(values[0], digits), fmt(values[1], digits), fmt(values[2], digits)],
    ratios: [ratio(values[0], values[1]), ratio(values[0], values[2])],
    goal,
  };
}

/**
 * The bridges to measure, one after the other on fresh control planes: BENCH_BRIDGE_BUNDLES
 * (`label=path,…`, to compare designs in one run), else the bundle built from this tree.
 */
function bridgesUnderTest(text: string | undefined): BridgeUnderTest[] {
  if (!text) return [{ label: 'this tree', bundle: 'dist/bundle/bridge/main.mjs' }];
  return text.split(',').map((item) => {
    const [label, bundle] = item.split('=');
    if (!label || !bundle) throw new Error(`BENCH_BRIDGE_BUNDLES: ${item} is not label=path`);
    return { label, bundle };
  });
}

/** The bridge's rows of the table, for one bridge. */
function bridgeRows(bridge: BridgeFigures): Row[] {
  const steady = (s: BridgeFigures['slow'], goal: string): Row[] => [
    {
      figure: `bridge: status patch → CloudEvent p50 at ${s.flipsPerSecond} flips/s (ms), ${bridge.environments} XRs`,
      values: [fmt(s.p50Ms)],
    },
    {
      figure: `bridge: status patch → CloudEvent p99 at ${s.flipsPerSecond} flips/s (ms)`,
      values: [fmt(s.p99Ms)],
      goal,
    },
  ];
  return [
    ...steady(bridge.slow, '≤ 250 ms'),
    ...steady(bridge.fast, '≤ 1,000 ms'),
    {
      figure: 'bridge: events/s draining a backlog, 1 event per environment',
      values: [fmt(bridge.drainPerSecond, 0)],
      goal: '≥ 1,000/s',
    },
    {
      figure: `bridge: events/s draining a backlog of environments that came up while it was stopped, ${bridge.eventsPerEnvironment} events each`,
      values: [fmt(bridge.lateDrainPerSecond, 0)],
      goal: '≥ 1,000/s',
    },
    {
      figure: 'bridge: events sent again after a graceful restart (SIGTERM)',
      values: [String(bridge.repeatedAfterRestart)],
      goal: '0',
    },
    {
      figure: "bridge: the API server's own single-object patches/s (32 in flight)",
      values: [fmt(bridge.apiPatchesPerSecond, 0)],
    },
    {
      figure: 'bridge: API writes per event (XRs and ConfigMaps), first process',
      values: [fmt(bridge.writesPerEvent, 2)],
    },
    {
      figure: `bridge: API writes per event, restarted (${bridge.eventsPerEnvironment} events per environment)`,
      values: [fmt(bridge.lateWritesPerEvent, 2)],
    },
    {
      figure: 'bridge: events/s while every cluster flips Ready at once',
      values: [fmt(bridge.eventsPerSecond, 0)],
    },
    {
      figure: `bridge: peak RSS (MiB), ${bridge.environments} environments`,
      values: [fmt(bridge.rssMiB)],
      goal: '≤ 150 MiB',
    },
    {
      figure: `bridge: peak RSS (MiB), restarted with ${2 * bridge.environments} environments`,
      values: [fmt(bridge.lateRssMiB)],
    },
    {
      figure: 'bridge: CPU time over the run (s)',
      values: [fmt(bridge.cpuSeconds, 2)],
    },
  ];
}

const tableOf = (rows: (Row & { ratios?: [string, string] })[]) =>
  [
    '| figure | function-xenvironment | Go port | function-go-templating | ours/Go port | ours/go-templating | goal |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.figure} | ${[0, 1, 2].map((i) => r.values[i] ?? '').join(' | ')} | ${r.ratios?.join(' | ') ?? ' | '} | ${r.goal ?? ''} |`,
    ),
  ].join('\n');

/** Several bridges side by side: one column each. */
function comparison(bridges: BridgeFigures[]): string {
  const rows = bridges.map(bridgeRows);
  return [
    `| figure | ${bridges.map((b) => b.label).join(' | ')} | goal |`,
    `| --- | ${bridges.map(() => '---').join(' | ')} | --- |`,
    ...rows[0]!.map(
      (row, i) =>
        `| ${row.figure} | ${rows.map((r) => r[i]!.values[0]).join(' | ')} | ${row.goal ?? ''} |`,
    ),
  ].join('\n');
}

/**
 * BENCH_ONLY_BRIDGE: the bridge alone. Its rows in bench/results.md are replaced by those of the
 * first bridge measured; the function's stay as the last full run left them.
 */
async function benchBridgesOnly(machine: string): Promise<void> {
  const bridges: BridgeFigures[] = [];
  for (const under of bridgesUnderTest(process.env.BENCH_BRIDGE_BUNDLES)) {
    bridges.push(await benchBridge(log, under));
  }
  console.log(`\n${comparison(bridges)}\n\nmachine: ${machine}`);
  const results = await readFile('bench/results.md', 'utf8');
  const lines = results.split('\n');
  const at = lines.findIndex((line) => line.startsWith('| bridge:'));
  const kept = lines.filter((line) => !line.startsWith('| bridge:'));
  const fresh = tableOf(bridgeRows(bridges[0]!)).split('\n').slice(2);
  kept.splice(at < 0 ? kept.length : at, 0, ...fresh);
  const stamp = `The bridge's rows: \`BENCH_ONLY_BRIDGE=1\` on ${new Date().toISOString().slice(0, 10)}, ${machine}.`;
  const withStamp = kept.filter((line) => !line.startsWith("The bridge's rows: "));
  const table = withStamp.findIndex((line) => line.startsWith('| figure |'));
  withStamp.splice(table, 0, stamp, '');
  await writeFile('bench/results.md', withStamp.join('\n').replace(/\n{3,}/g, '\n\n'));
  log('bridge rows written to bench/results.md');
}

function machineLine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const go = (() => {
    try {
      return `, ${execFileSync('go', ['version']).toString().trim()}`;
    } catch {
      return '';
    }
  })();
  return `${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}${go}`;
}

async function main(): Promise<void> {
  if (process.env.BENCH_ONLY_BRIDGE) {
    await benchBridgesOnly(machineLine());
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'xenv-bench-'));
  const fn = await benchFunction(dir, log);
  const bridge = process.env.BENCH_SKIP_BRIDGE ? undefined : await benchBridge(log);

  const [o, p, t] = servers.map((server) => fn.servers[server.name]!) as [
    ServerFigures,
    ServerFigures,
    ServerFigures,
  ];
  const all = (pick: (figures: ServerFigures) => number): [number, number, number] => [
    pick(o),
    pick(p),
    pick(t),
  ];
  const { fixedRate } = fn;
  const rows: (Row & { ratios?: [string, string] })[] = [
    compared(
      'CPU per RunFunction, 10 tools (µs)',
      all((f) => f.light.cpuMicros),
      0,
      '≤ 0.7× Go port',
    ),
    compared(
      'CPU per RunFunction, 200 tools (µs)',
      all((f) => f.heavy.cpuMicros),
      0,
      '≤ 0.5× Go port, ≤ 3,000 µs',
    ),
    compared(
      'closed loop, 10 tools, 16 streams: req/s',
      all((f) => f.light.rps),
      0,
    ),
    compared(
      'closed loop, 10 tools, 16 streams: p50 (ms)',
      all((f) => f.light.p50Ms),
      2,
    ),
    compared(
      'closed loop, 10 tools, 16 streams: p99 (ms)',
      all((f) => f.light.p99Ms),
      2,
    ),
    {
      figure: `fixed ${fixedRate.rate} req/s (half our saturation), 10 tools: p99 (ms)`,
      values: [fmt(fixedRate.light.light.p99Ms, 2), fmt(fixedRate.goPort.light.p99Ms, 2)],
      ratios: [ratio(fixedRate.light.light.p99Ms, fixedRate.goPort.light.p99Ms), ''],
      goal: '≤ 2 ms',
    },
    {
      figure: `fixed ${fixedRate.mixedRate} req/s (half our saturation), 5% of them 200 tools: p99 of the 10-tool ones (ms)`,
      values: [fmt(fixedRate.mixed.light.p99Ms, 2)],
      goal: '≤ 2 ms',
    },
    {
      figure: `fixed ${fixedRate.mixedRate} req/s, 5% of them 200 tools: p99 of the 200-tool ones (ms)`,
      values: [fmt(fixedRate.mixed.heavy?.p99Ms ?? NaN, 2)],
    },
    compared(
      'peak RSS under load (MiB)',
      all((f) => f.rssMiB),
      1,
      '≤ 64 MiB',
    ),
    compared(
      'cold start to first RunFunction (ms)',
      all((f) => f.coldStartMs),
      0,
      '≤ 200 ms',
    ),
    ...fn.scaling.map(({ tools, result }) => ({
      figure: `ours, ${tools} tools: req/s · p50 · p99 (ms) · CPU/request (µs)`,
      values: [
        `${fmt(result.rps, 0)} · ${fmt(result.p50Ms, 2)} · ${fmt(result.p99Ms, 2)} · ${fmt(result.cpuMicros, 0)}`,
      ] as Row['values'],
    })),
  ];
  if (bridge) rows.push(...bridgeRows(bridge));

  const table = tableOf(rows);
  const machine = machineLine();
  console.log(`\n${table}\n\nmachine: ${machine}`);

  const notes = (await readFile('bench/NOTES.md', 'utf8')).trim();
  await writeFile(
    'bench/results.md',
    `# Benchmark results\n\nWritten by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}.\nMachine: ${machine}.\n${fn.requests} requests per 10-tool load run.\n\n${table}\n\n${notes}\n`,
  );
  log('written to bench/results.md');
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
