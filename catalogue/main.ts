/**
 * `npm run catalogue:check -- <composition.yaml> [--chart <name>=<folder or .tgz> ...] [--offline]
 * [--helm <binary>]`: the catalogue check (check.ts) on the Catalog a Composition's pipeline
 * carries (or a file that is a Catalog), one line per finding, then a count. Charts named with
 * --chart (by chart name) are read from there, the others pulled from the catalogue's
 * repositories, or, --offline, skipped. Helm is --helm, else $HELM, else the project's pinned
 * .tools/bin/helm, else helm on PATH. Exit 0 without errors, 1 with errors, 2 on a usage error.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { isObject } from '../common/objects.js';
import { checkCatalogue, type Finding } from './check.js';
import { Helm, PROVIDER_HELM_MAJOR } from './helm.js';

const USAGE =
  'usage: npm run catalogue:check -- <composition.yaml> [--chart <name>=<folder or .tgz> ...] [--offline] [--helm <binary>]';
const PINNED_HELM = fileURLToPath(new URL('../.tools/bin/helm', import.meta.url));

class UsageError extends Error {}

function parseArgs(args: string[]) {
  const charts = new Map<string, string>();
  let file: string | undefined;
  let offline = false;
  let helm = process.env.HELM || (existsSync(PINNED_HELM) ? PINNED_HELM : 'helm');
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = () => {
      const next = args[++i];
      if (next === undefined) throw new UsageError(`${arg} needs a value`);
      return next;
    };
    if (arg === '--chart') {
      const [name, path] = value().split(/=(.*)/s);
      if (!name || !path) throw new UsageError('--chart takes <chart name>=<folder or .tgz>');
      charts.set(name, path);
    } else if (arg === '--offline') offline = true;
    else if (arg === '--helm') helm = value();
    else if (arg.startsWith('-') || file !== undefined) throw new UsageError(`unexpected ${arg}`);
    else file = arg;
  }
  if (file === undefined) throw new UsageError('no Composition given');
  return { file, charts, offline, helm };
}

/** The Catalog in `file`: a Composition's pipeline step input, or the file's own document. */
async function catalogueIn(file: string): Promise<unknown> {
  const documents = parseAllDocuments(await readFile(file, 'utf8')).map((d) => d.toJS() as unknown);
  for (const doc of documents.filter(isObject)) {
    if (doc.kind === 'Catalog') return doc;
    const pipeline = isObject(doc.spec) ? doc.spec.pipeline : undefined;
    const step = Array.isArray(pipeline)
      ? pipeline.find((s) => isObject(s) && isObject(s.input) && s.input.kind === 'Catalog')
      : undefined;
    if (step) return step.input;
  }
  throw new UsageError(`${file} has no Catalog (a Composition pipeline step's input)`);
}

const line = (f: Finding) => `${f.severity.padEnd(7)} ${f.field} (${f.subject}): ${f.message}`;

async function main(args: string[]): Promise<number> {
  const options = parseArgs(args);
  const input = await catalogueIn(options.file);
  const helm = await Helm.start(options.helm);
  try {
    const version = await helm.version();
    if (!version.startsWith(`v${PROVIDER_HELM_MAJOR}.`)) {
      console.log(
        `warning ${options.helm} is Helm ${version}; provider-helm runs v${PROVIDER_HELM_MAJOR}`,
      );
    }
    const findings = await checkCatalogue(input, { ...options, helm });
    for (const finding of findings) console.log(line(finding));
    const count = (severity: Finding['severity']) =>
      findings.filter((f) => f.severity === severity).length;
    const counted = (severity: Finding['severity'], what: string) =>
      `${count(severity)} ${what}${count(severity) === 1 ? '' : 's'}`;
    const skipped = count('skipped') > 0 ? `, ${count('skipped')} skipped` : '';
    console.log(`${counted('error', 'error')}, ${counted('warning', 'warning')}${skipped}`);
    return count('error') > 0 ? 1 : 0;
  } finally {
    await helm.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof UsageError ? `${error.message}\n${USAGE}` : error);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
