/** npm run bench: every benchmark, one summary table, also written to bench/results.md. */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { benchFunction, ours, peer } from './function.js';
import { benchBridge } from './bridge.js';

const log = (line: string) => console.log(`bench: ${line}`);

interface Row {
  figure: string;
  ours: string;
  peer: string;
  ratio: string;
  goal: string;
}

const fmt = (value: number, digits = 1) => value.toFixed(digits);

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'xenv-bench-'));
  const fn = await benchFunction(dir, log);
  const bridge = process.env.BENCH_SKIP_BRIDGE ? undefined : await benchBridge(log);

  const o = fn.load[ours.name]!;
  const p = fn.load[peer.name]!;
  const rows: Row[] = [
    {
      figure: 'RunFunction throughput, 10 tools, 16 streams (req/s)',
      ours: fmt(o.rps, 0),
      peer: fmt(p.rps, 0),
      ratio: fmt(o.rps / p.rps, 2),
      goal: '≥ 1.5× peer',
    },
    {
      figure: 'server CPU per request, 10 tools (µs)',
      ours: fmt(o.cpuMicros!, 0),
      peer: fmt(p.cpuMicros!, 0),
      ratio: fmt(o.cpuMicros! / p.cpuMicros!, 2),
      goal: '',
    },
    {
      figure: 'latency p50 (ms)',
      ours: fmt(o.p50Ms, 2),
      peer: fmt(p.p50Ms, 2),
      ratio: fmt(o.p50Ms / p.p50Ms, 2),
      goal: '',
    },
    {
      figure: 'latency p99 (ms)',
      ours: fmt(o.p99Ms, 2),
      peer: fmt(p.p99Ms, 2),
      ratio: fmt(o.p99Ms / p.p99Ms, 2),
      goal: '≤ 2 ms',
    },
    {
      figure: 'peak RSS under load (MiB)',
      ours: fmt(o.rssMiB),
      peer: fmt(p.rssMiB),
      ratio: fmt(o.rssMiB / p.rssMiB, 2),
      goal: '≤ 80 MiB',
    },
    {
      figure: 'cold start to first RunFunction (ms)',
      ours: fmt(fn.coldStartMs[ours.name]!, 0),
      peer: fmt(fn.coldStartMs[peer.name]!, 0),
      ratio: fmt(fn.coldStartMs[ours.name]! / fn.coldStartMs[peer.name]!, 2),
      goal: '≤ 300 ms',
    },
    ...fn.scaling.map(({ tools, result }) => ({
      figure: `ours, ${tools} tools: req/s · p50 · p99 (ms) · CPU/request (µs)`,
      ours: `${fmt(result.rps, 0)} · ${fmt(result.p50Ms, 2)} · ${fmt(result.p99Ms, 2)} · ${fmt(result.cpuMicros!, 0)}`,
      peer: '',
      ratio: '',
      goal: '',
    })),
  ];
  if (bridge) {
    rows.push(
      {
        figure: `bridge: status patch → CloudEvent p50 (ms), ${bridge.environments} XRs`,
        ours: fmt(bridge.p50Ms),
        peer: '',
        ratio: '',
        goal: '',
      },
      {
        figure: 'bridge: status patch → CloudEvent p99 (ms)',
        ours: fmt(bridge.p99Ms),
        peer: '',
        ratio: '',
        goal: '≤ 100 ms',
      },
      {
        figure: 'bridge: events/s draining a backlog',
        ours: fmt(bridge.drainPerSecond, 0),
        peer: '',
        ratio: '',
        goal: '≥ 1,000/s',
      },
      {
        figure: 'bridge: events/s while readiness flips live',
        ours: fmt(bridge.eventsPerSecond, 0),
        peer: '',
        ratio: '',
        goal: '',
      },
      {
        figure: 'bridge: peak RSS (MiB)',
        ours: fmt(bridge.rssMiB),
        peer: '',
        ratio: '',
        goal: '≤ 150 MiB',
      },
      {
        figure: 'bridge: CPU time over the run (s)',
        ours: fmt(bridge.cpuSeconds, 2),
        peer: '',
        ratio: '',
        goal: '',
      },
    );
  }

  const table = [
    '| figure | function-xenvironment | Go peer | ours/peer | goal |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.figure} | ${r.ours} | ${r.peer} | ${r.ratio} | ${r.goal} |`),
  ].join('\n');
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const machine = `${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${execFileSync('go', ['version']).toString().trim()}`;
  console.log(`\n${table}\n\nmachine: ${machine}`);

  const notes = (await readFile('bench/NOTES.md', 'utf8')).trim();
  await writeFile(
    'bench/results.md',
    `# Benchmark results\n\nWritten by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}.\nMachine: ${machine}.\n${fn.requests} requests per load run.\n\n${table}\n\n${notes}\n`,
  );
  log('written to bench/results.md');
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
