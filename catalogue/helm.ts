/**
 * Real Helm, as provider-helm runs it: `helm template` of a chart with the release name, namespace
 * and values the function sends, and `helm pull` of a catalogue's chart. Helm's homes (cache,
 * config, data) are in a folder of their own, so nothing of the user's Helm is read or written;
 * charts are read from folders, a packed chart (.tgz) unpacked into that folder first.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { isObject, type JsonObject } from '../common/objects.js';
import type { Chart } from '../function/input/model.js';

/** provider-helm v1.4.0 runs Helm v4. */
export const PROVIDER_HELM_MAJOR = 4;
const TIMEOUT_MS = 120_000;

/** A chart folder and what the check reads of it. */
export interface LocalChart {
  dir: string;
  name: string;
  version: string;
  /** values.yaml. */
  defaults: JsonObject;
  schema?: JsonObject;
  /** Names (or aliases) of its subcharts, whose values sit under these keys. */
  subcharts: string[];
}

export type Rendered = { manifests: JsonObject[] } | { failure: string };

export class Helm {
  private constructor(
    private readonly binary: string,
    private readonly home: string,
  ) {}

  static async start(binary: string): Promise<Helm> {
    return new Helm(binary, await mkdtemp(join(tmpdir(), 'catalogue-check-')));
  }

  async close(): Promise<void> {
    await rm(this.home, { recursive: true, force: true });
  }

  /** `v4.2.3`. */
  async version(): Promise<string> {
    return (await this.run(['version', '--template', '{{.Version}}'])).trim();
  }

  /** The chart at `source`, a folder or a packed chart. */
  async local(source: string): Promise<LocalChart> {
    if (!source.endsWith('.tgz')) return readChart(source);
    const into = await mkdtemp(join(this.home, 'unpacked-'));
    await run('tar', ['-xzf', source, '-C', into]);
    return readChart(await onlyFolder(into));
  }

  /** `chart` pulled from its repository (an `oci://` one too), as provider-helm pulls it. */
  async pull(chart: Chart): Promise<LocalChart> {
    const into = await mkdtemp(join(this.home, 'pulled-'));
    const oci = chart.repository.startsWith('oci://');
    const ref = oci ? `${chart.repository.replace(/\/$/, '')}/${chart.name}` : chart.name;
    await this.run([
      'pull',
      ref,
      ...(oci ? [] : ['--repo', chart.repository]),
      '--version',
      chart.version,
      '--untar',
      '--untardir',
      into,
    ]);
    return readChart(await onlyFolder(into));
  }

  /** `helm template`: the manifests, or Helm's message on one line. */
  async template(
    chart: LocalChart,
    release: { name: string; namespace: string; values: JsonObject; kubeVersion?: string },
  ): Promise<Rendered> {
    const valuesFile = join(await mkdtemp(join(this.home, 'values-')), 'values.json');
    await writeFile(valuesFile, JSON.stringify(release.values));
    const args = ['template', release.name, chart.dir, '--namespace', release.namespace];
    args.push('--values', valuesFile);
    if (release.kubeVersion) args.push('--kube-version', release.kubeVersion);
    try {
      const documents = parseAllDocuments(await this.run(args));
      const manifests = documents.map((doc) => doc.toJS() as unknown).filter(isObject);
      return { manifests };
    } catch (error) {
      if (error instanceof HelmError) return { failure: error.message };
      throw error;
    }
  }

  private run(args: string[]): Promise<string> {
    return run(this.binary, args, {
      HELM_CACHE_HOME: join(this.home, 'cache'),
      HELM_CONFIG_HOME: join(this.home, 'config'),
      HELM_DATA_HOME: join(this.home, 'data'),
    });
  }
}

/** A command that failed, with what it said on one line (`Error: ` and blank lines left out). */
export class HelmError extends Error {}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { env: { ...process.env, ...env }, timeout: TIMEOUT_MS, maxBuffer: 256 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const said = (stderr || error.message)
          .split('\n')
          .map((line) => line.trim())
          .filter(Boolean)
          .join(' ')
          .replace(/^Error: /, '');
        reject(new HelmError(said));
      },
    );
  });
}

async function onlyFolder(dir: string): Promise<string> {
  const entries = await readdir(dir, { withFileTypes: true });
  const folders = entries.filter((entry) => entry.isDirectory());
  if (folders.length !== 1) throw new HelmError(`expected one chart folder in ${dir}`);
  return join(dir, folders[0]!.name);
}

async function readChart(dir: string): Promise<LocalChart> {
  const yamlFile = async (name: string) =>
    existsSync(join(dir, name))
      ? (parse(await readFile(join(dir, name), 'utf8'), { logLevel: 'error' }) as unknown)
      : {};
  const meta = await yamlFile('Chart.yaml');
  if (!isObject(meta) || typeof meta.name !== 'string') {
    throw new HelmError(`${dir} is not a chart: no Chart.yaml with a name`);
  }
  const defaults = await yamlFile('values.yaml');
  const schemaFile = join(dir, 'values.schema.json');
  const schema = existsSync(schemaFile)
    ? (JSON.parse(await readFile(schemaFile, 'utf8')) as JsonObject)
    : undefined;
  const dependencies = Array.isArray(meta.dependencies) ? meta.dependencies.filter(isObject) : [];
  const local = existsSync(join(dir, 'charts'))
    ? (await readdir(join(dir, 'charts'))).map((file) =>
        file.replace(/-v?\d+\.\d+\.\d+.*\.tgz$/, ''),
      )
    : [];
  return {
    dir,
    name: meta.name,
    version: String(meta.version),
    defaults: isObject(defaults) ? defaults : {},
    ...(schema ? { schema } : {}),
    subcharts: [...dependencies.map((d) => String(d.alias ?? d.name)), ...local],
  };
}
