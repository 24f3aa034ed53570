/**
 * A local Helm chart repository: charts packed here (a .tgz of `<name>/Chart.yaml`, values and
 * templates, as `helm package` makes it) into a folder with an `index.yaml`, served over HTTP on
 * the host's address on the node network by chart-server.ts, where provider-helm's pod pulls from
 * it with real Helm.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parse, stringify } from 'yaml';
import { tarOfFiles } from '../../package/image/tar.js';
import { freePort } from '../support/net.js';
import { NODE_NETWORK } from './node-network.js';
import { answers200, launch, waitFor, type LaunchOptions, type Process } from './processes.js';

export interface Chart {
  name: string;
  version: string;
  /**
   * Paths inside the chart, such as `values.yaml`, `templates/secret.yaml`, `crds/x.yaml`; a
   * minimal `Chart.yaml` is written unless they have one.
   */
  files: Record<string, string>;
}

/** Every file under `dir`, by its path relative to `root`. */
async function filesUnder(root: string, dir = root): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) Object.assign(files, await filesUnder(root, path));
    else if (entry.isFile()) files[relative(root, path)] = await readFile(path, 'utf8');
  }
  return files;
}

/**
 * A chart from its source folder, packaged as its release pipeline does (`helm package
 * --version`): its Chart.yaml (made from `chartYaml` where the source has a template of it) with
 * version and appVersion stamped `version`.
 */
export async function chartFromSource(
  dir: string,
  version: string,
  chartYaml = 'Chart.yaml',
): Promise<Chart> {
  const files = await filesUnder(dir);
  delete files['.complete'];
  const chart = parse(files[chartYaml]!) as { name: string };
  files['Chart.yaml'] = stringify({ ...chart, version, appVersion: version });
  return { name: chart.name, version, files };
}

/** Writes a chart's files into the folder `into` (as `helm template` takes a chart); returns it. */
export async function writeChartFolder(chart: Chart, into: string): Promise<string> {
  for (const [path, text] of Object.entries(chart.files)) {
    await mkdir(dirname(join(into, path)), { recursive: true });
    await writeFile(join(into, path), text);
  }
  return into;
}

export interface ChartRepository {
  process: Process;
  /** `http://<address>:<port>`, the `repository` of a catalogue chart. */
  url: string;
}

function archiveName(chart: Chart): string {
  return `${chart.name}-${chart.version}.tgz`;
}

/** Packs charts into `dir` and writes the index of every archive there. */
export async function writeCharts(dir: string, charts: Chart[]): Promise<void> {
  for (const chart of charts) {
    const files: Record<string, string> = {};
    if (!chart.files['Chart.yaml']) {
      files[`${chart.name}/Chart.yaml`] = stringify({
        apiVersion: 'v2',
        name: chart.name,
        version: chart.version,
        type: 'application',
      });
    }
    for (const [path, text] of Object.entries(chart.files)) files[`${chart.name}/${path}`] = text;
    await writeFile(join(dir, archiveName(chart)), gzipSync(tarOfFiles(files)));
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
  options: LaunchOptions & { address?: string } = {},
): Promise<ChartRepository> {
  const { address = NODE_NETWORK.host, ...launchOptions } = options;
  const port = await freePort();
  const server = launch(
    logDir,
    'chart-repository',
    process.execPath,
    ['--import', 'tsx', resolve('test/controlplane/chart-server.ts'), dir, address, String(port)],
    launchOptions,
  );
  const url = `http://${address}:${port}`;
  await waitFor('chart repository', () => answers200(`${url}/index.yaml`), { watch: [server] });
  return { process: server, url };
}
