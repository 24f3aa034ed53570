import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';

type Obj = Record<string, unknown>;

/** The objects of a YAML stream file, empty documents left out. */
export async function readYamlDocuments(path: string): Promise<Obj[]> {
  return parseYamlDocuments(await readFile(path, 'utf8'));
}

export function parseYamlDocuments(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as Obj | null)
    .filter((doc): doc is Obj => doc !== null);
}

/** The input of a Composition's first pipeline step: the catalogue. */
export async function pipelineInput(compositionPath: string): Promise<Obj> {
  const [composition] = await readYamlDocuments(compositionPath);
  const spec = composition!.spec as { pipeline: { input: Obj }[] };
  return spec.pipeline[0]!.input;
}
