/**
 * A local Helm chart repository: charts packed here (a .tgz of `<name>/Chart.yaml`, values and
 * templates, as `helm package` makes it) into a folder with an `index.yaml`, served over HTTP on
 * 127.0.0.1 by chart-server.ts. provider-helm pulls from it with real Helm.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { stringify } from 'yaml';
import { freePort } from '../support/net.js';
import { answers200, launch, waitFor, type LaunchOptions, type Process } from './processes.js';

export interface Chart {
  name: string;
  version: string;
  /** Paths inside the chart, such as `values.yaml`, `templates/secret.yaml`, `crds/x.yaml`. */
  files: Record<string, string>;
}

export interface ChartRepository {
  process: Process;
  /** `http://127.0.0.1:<port>`, the `repository` of a catalogue chart. */
  url: string;
}

/** A ustar archive of regular files (what Helm's chart loader reads). */
export function tar(files: Record<string, string>): Buffer {
  const blocks: Buffer[] = [];
  for (const [path, text] of Object.entries(files)) {
    const body = Buffer.from(text);
    const header = Buffer.alloc(512);
    const field = (offset: number, length: number, value: string) =>
      header.write(value, offset, length, 'utf8');
    const octal = (offset: number, length: number, value: number) =>
      field(offset, length, value.toString(8).padStart(length - 1, '0'));
    if (Buffer.byteLength(path) > 100) throw new Error(`tar: path too long: ${path}`);
    field(0, 100, path);
    octal(100, 8, 0o644);
    octal(108, 8, 0);
    octal(116, 8, 0);
    octal(124, 12, body.length);
    octal(136, 12, 0);
    field(148, 8, '        ');
    field(156, 1, '0');
    field(257, 6, 'ustar');
    field(263, 2, '00');
    const sum = header.reduce((total, byte) => total + byte, 0);
    field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

function archiveName(chart: Chart): string {
  return `${chart.name}-${chart.version}.tgz`;
}

/** Packs charts into `dir` and writes the index of every archive there. */
export async function writeCharts(dir: string, charts: Chart[]): Promise<void> {
  for (const chart of charts) {
    const files: Record<string, string> = {
      [`${chart.name}/Chart.yaml`]: stringify({
        apiVersion: 'v2',
        name: chart.name,
        version: chart.version,
        type: 'application',
      }),
    };
    for (const [path, text] of Object.entries(chart.files)) files[`${chart.name}/${path}`] = text;
    await writeFile(join(dir, archiveName(chart)), gzipSync(tar(files)));
  }
  const entries: Record<string, object[]> = {};
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.tgz')).sort()) {
    const match = /^(.+)-(\d+\.\d+\.\d+.*)\.tgz$/.exec(file);
    if (!match) continue;
    const [, name, version] = match as unknown as [string, string, string];
    const digest = createHash('sha256')
      .update(await readFile(join(dir, file)))
      .digest('hex');
    // Relative URLs resolve against the repository URL, so the folder does not depend on the port.
    (entries[name] ??= []).push({ apiVersion: 'v2', name, version, urls: [file], digest });
  }
  await writeFile(
    join(dir, 'index.yaml'),
    stringify({ apiVersion: 'v1', entries, generated: new Date().toISOString() }),
  );
}

export async function startChartRepository(
  dir: string,
  logDir: string,
  options: LaunchOptions = {},
): Promise<ChartRepository> {
  const port = await freePort();
  const server = launch(
    logDir,
    'chart-repository',
    process.execPath,
    ['--import', 'tsx', resolve('test/controlplane/chart-server.ts'), dir, String(port)],
    options,
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor('chart repository', () => answers200(`${url}/index.yaml`), { watch: [server] });
  return { process: server, url };
}
