/** npm run bench: every benchmark, one summary table, also written to bench/results.md. */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { benchFunction, goPort, goTemplating, type ServerFigures } from './function.js';
import { benchBridge, type BridgeFigures, type BridgeUnderTest } from './bridge.js';
import { runtimes as findRuntimes } from './runtimes.js';

const log = (line: string) => console.log(`bench: ${line}`);

const fmt = (value: number, digits = 1) => value.toFixed(digits);
const ratio = (a: number, b: number | undefined) => (b ? `${fmt(a / b, 2)}×` : '');

interface Row {
  figure: string;
  /** Ours under each runtime (headline first), then the Go port and function-go-templating. */
  values: string[];
  goal?: string;
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

/** The bridge's rows of the table (the bridge runs under this machine's Node: one value each). */
function bridgeRows(bridge: BridgeFigures): Row[] {
  const row = (figure: string, value: string, goal = ''): Row => ({
    figure,
    values: [value],
    goal,
  });
  const steady = (s: BridgeFigures['slow'], goal: string): Row[] => [
    row(
      `bridge: status patch → CloudEvent p50 at ${s.flipsPerSecond} flips/s (ms), ${bridge.environments} XRs`,
      fmt(s.p50Ms),
    ),
    row(
      `bridge: status patch → CloudEvent p99 at ${s.flipsPerSecond} flips/s (ms)`,
      fmt(s.p99Ms),
      goal,
    ),
  ];
  return [
    ...steady(bridge.slow, '≤ 250 ms'),
    ...steady(bridge.fast, '≤ 1,000 ms'),
    row(
      'bridge: events/s draining a backlog, 1 event per environment',
      fmt(bridge.drainPerSecond, 0),
      '≥ 1,000/s',
    ),
    row(
      `bridge: events/s draining a backlog of environments that came up while it was stopped, ${bridge.eventsPerEnvironment} events each`,
      fmt(bridge.lateDrainPerSecond, 0),
      '≥ 1,000/s',
    ),
    row(
      'bridge: events sent again after a graceful restart (SIGTERM)',
      String(bridge.repeatedAfterRestart),
      '0',
    ),
    row(
      "bridge: the API server's own single-object patches/s (32 in flight)",
      fmt(bridge.apiPatchesPerSecond, 0),
    ),
    row(
      'bridge: API writes per event (XRs and ConfigMaps), first process',
      fmt(bridge.writesPerEvent, 2),
    ),
    row(
      `bridge: API writes per event, restarted (${bridge.eventsPerEnvironment} events per environment)`,
      fmt(bridge.lateWritesPerEvent, 2),
    ),
    row('bridge: events/s while every cluster flips Ready at once', fmt(bridge.eventsPerSecond, 0)),
    row(
      `bridge: peak RSS (MiB), ${bridge.environments} environments`,
      fmt(bridge.rssMiB),
      '≤ 150 MiB',
    ),
    row(
      `bridge: peak RSS (MiB), restarted with ${2 * bridge.environments} environments`,
      fmt(bridge.lateRssMiB),
    ),
    row('bridge: CPU time over the run (s)', fmt(bridge.cpuSeconds, 2)),
  ];
}

/** A table's lines: header, separator, then each row over `columns` value columns and its goal. */
function tableLines(header: string[], rows: Row[]): string[] {
  const columns = header.length - 2;
  return [
    `| ${header.join(' | ')} |`,
    `|${' --- |'.repeat(header.length)}`,
    ...rows.map(
      (r) =>
        `| ${r.figure} | ${Array.from({ length: columns }, (_, i) => r.values[i] ?? '').join(' | ')} | ${r.goal ?? ''} |`,
    ),
  ];
}

/** The cells of a table line. */
const cells = (line: string) => line.split('|').slice(1, -1);

/**
 * BENCH_ONLY_BRIDGE: the bridge alone, for each bridge of BENCH_BRIDGE_BUNDLES side by side. Its
 * rows in bench/results.md are replaced by those of the first bridge measured; the function's stay
 * as the last full run left them.
 */
async function benchBridgesOnly(machine: string): Promise<void> {
  const bridges: BridgeFigures[] = [];
  for (const under of bridgesUnderTest(process.env.BENCH_BRIDGE_BUNDLES)) {
    bridges.push(await benchBridge(log, under));
  }
  const sideBySide = bridges.map(bridgeRows);
  const comparison = tableLines(
    ['figure', ...bridges.map((b) => b.label), 'goal'],
    sideBySide[0]!.map((row, i) => ({ ...row, values: sideBySide.map((r) => r[i]!.values[0]!) })),
  );
  console.log(`\n${comparison.join('\n')}\n\nmachine: ${machine}`);

  const lines = (await readFile('bench/results.md', 'utf8')).split('\n');
  const header = lines.find((line) => line.startsWith('| figure |'));
  if (!header) throw new Error('bench/results.md has no table: run npm run bench first');
  const fresh = tableLines(
    cells(header).map((cell) => cell.trim()),
    bridgeRows(bridges[0]!),
  ).slice(2);
  const at = lines.findIndex((line) => line.startsWith('| bridge:'));
  const kept = lines.filter(
    (line) => !line.startsWith('| bridge:') && !line.startsWith("The bridge's rows: "),
  );
  kept.splice(at < 0 ? kept.length : at, 0, ...fresh);
  const stamp = `The bridge's rows: \`BENCH_ONLY_BRIDGE=1\` on ${new Date().toISOString().slice(0, 10)}, ${machine}.`;
  kept.splice(
    kept.findIndex((line) => line.startsWith('| figure |')),
    0,
    stamp,
    '',
  );
  await writeFile('bench/results.md', kept.join('\n').replace(/\n{3,}/g, '\n\n'));
  log('bridge rows written to bench/results.md');
}

function machineLine(nodes: string): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${nodes}, ${execFileSync('go', ['version']).toString().trim()}`;
}

async function main(): Promise<void> {
  if (process.env.BENCH_ONLY_BRIDGE) {
    await benchBridgesOnly(machineLine(`Node ${process.version}`));
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'xenv-bench-'));
  const runtimes = await findRuntimes(dir, log);
  const fn = await benchFunction(dir, log, runtimes);
  const bridge = process.env.BENCH_SKIP_BRIDGE ? undefined : await benchBridge(log);

  const labels = runtimes.map((runtime) => runtime.label);
  const oursOf = labels.map((label) => fn.servers[fn.ours[label]!]!);
  const go = fn.servers[goPort.name]!;
  const templating = fn.servers[goTemplating.name]!;
  /** Every server's figure; ours with their ratios to the Go port and to function-go-templating. */
  const compared = (
    figure: string,
    pick: (figures: ServerFigures) => number,
    digits: number,
    goal = '',
  ): Row => ({
    figure,
    values: [
      ...oursOf.map(
        (f) =>
          `${fmt(pick(f), digits)} (${ratio(pick(f), pick(go))} · ${ratio(pick(f), pick(templating))})`,
      ),
      fmt(pick(go), digits),
      fmt(pick(templating), digits),
    ],
    goal,
  });
  /** A figure of the headline runtime only (its first column). */
  const headline = (figure: string, value: string, goal = ''): Row => ({
    figure,
    values: [value],
    goal,
  });
  /** A figure of each runtime (our columns), where it has one. */
  const perRuntime = (
    figure: string,
    pick: (label: string) => number | undefined,
    digits: number,
    goal = '',
  ): Row => ({
    figure,
    values: labels.map((label) => {
      const value = pick(label);
      return value === undefined ? '' : fmt(value, digits);
    }),
    goal,
  });
  const { fixedRate } = fn;
  const rows: Row[] = [
    compared('CPU per RunFunction, 10 tools (µs)', (f) => f.light.cpuMicros, 0, '≤ 0.7× Go port'),
    compared(
      'CPU per RunFunction, 200 tools (µs)',
      (f) => f.heavy.cpuMicros,
      0,
      '≤ 0.5× Go port, ≤ 3,000 µs',
    ),
    compared('closed loop, 10 tools, 16 streams: req/s', (f) => f.light.rps, 0),
    compared('closed loop, 10 tools, 16 streams: p50 (ms)', (f) => f.light.p50Ms, 2),
    compared('closed loop, 10 tools, 16 streams: p99 (ms)', (f) => f.light.p99Ms, 2),
    {
      figure: `fixed ${fixedRate.rate} req/s (half our saturation), 10 tools: p99 (ms)`,
      values: [
        fixedRate.goPortRate === fixedRate.rate
          ? `${fmt(fixedRate.light.light.p99Ms, 2)} (${ratio(fixedRate.light.light.p99Ms, fixedRate.goPort.light.p99Ms)})`
          : fmt(fixedRate.light.light.p99Ms, 2),
        ...Array<string>(labels.length - 1).fill(''),
        fixedRate.goPortRate === fixedRate.rate
          ? fmt(fixedRate.goPort.light.p99Ms, 2)
          : `${fmt(fixedRate.goPort.light.p99Ms, 2)} at ${fixedRate.goPortRate} req/s, half its saturation`,
      ],
      goal: '≤ 2 ms',
    },
    headline(
      `fixed ${fixedRate.mixedRate} req/s (half our saturation), 5% of them 200 tools: p99 of the 10-tool ones (ms)`,
      fmt(fixedRate.mixed.light.p99Ms, 2),
      '≤ 2 ms',
    ),
    headline(
      `fixed ${fixedRate.mixedRate} req/s, 5% of them 200 tools: p99 of the 200-tool ones (ms)`,
      fmt(fixedRate.mixed.heavy?.p99Ms ?? NaN, 2),
    ),
    compared('peak RSS under load (MiB)', (f) => f.rssMiB, 1, '≤ 64 MiB'),
    perRuntime(
      'floor: node + grpc-js, idle after one RunFunction, RSS (MiB)',
      (label) => fn.floors[label]?.grpcRssMiB,
      1,
    ),
    compared(
      `cold start to first RunFunction (ms), median of ${fn.starts}`,
      (f) => f.coldStartMs,
      0,
      '≤ 150 ms',
    ),
    perRuntime(
      'floor: node alone, spawn to listening (ms)',
      (label) => fn.floors[label]?.nodeStartMs,
      0,
    ),
    perRuntime(
      'floor: node + grpc-js, spawn to first RunFunction (ms)',
      (label) => fn.floors[label]?.grpcStartMs,
      0,
    ),
    ...fn.scaling.map(({ tools, result }) =>
      headline(
        `ours, ${tools} tools: req/s · p50 · p99 (ms) · CPU/request (µs)`,
        `${fmt(result.rps, 0)} · ${fmt(result.p50Ms, 2)} · ${fmt(result.p99Ms, 2)} · ${fmt(result.cpuMicros, 0)}`,
      ),
    ),
  ];
  if (bridge) rows.push(...bridgeRows(bridge));

  const header = [
    'figure',
    ...labels.map((label) => `function-xenvironment, ${label}`),
    'Go port',
    'function-go-templating',
    'goal',
  ];
  const table = tableLines(header, rows).join('\n');
  const machine = machineLine(
    runtimes.map((runtime) => `${runtime.label}: ${runtime.version}`).join(', '),
  );
  const legend =
    'Our figures are followed, in parentheses, by their ratios to the Go port and to ' +
    'function-go-templating (at a fixed rate, to the Go port at the same rate). The floors are ' +
    "each runtime's own, in the same run. The bridge runs under this machine's Node.";
  console.log(`\n${table}\n\n${legend}\n\nmachine: ${machine}`);

  const notes = (await readFile('bench/NOTES.md', 'utf8')).trim();
  await writeFile(
    'bench/results.md',
    `# Benchmark results\n\nWritten by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}.\nMachine: ${machine}.\n${fn.requests} requests per 10-tool load run.\n\n${table}\n\n${legend}\n\n${notes}\n`,
  );
  log('written to bench/results.md');
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
