/**
 * Reads a Crossplane package file (.xpkg) as `crossplane xpkg build` writes it: an OCI image
 * tarball (go-containerregistry's format: manifest.json, the config, gzipped layer tarballs).
 * Like Crossplane's ExtractPackageYAML, it takes the layer the config labels
 * `io.crossplane.xpkg:<layer digest>: base` and returns the package.yaml stream in it.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { untar } from '../../package/image/tar.js';

export async function readPackageStream(path: string): Promise<string> {
  const image = untar(await readFile(path));
  const file = (name: string) => {
    const content = image.get(name);
    if (!content) throw new Error(`${path}: no ${name}`);
    return content;
  };
  const [manifest] = JSON.parse(file('manifest.json').toString()) as {
    Config: string;
    Layers: string[];
  }[];
  const labels =
    (
      JSON.parse(file(manifest!.Config).toString()) as {
        config: { Labels?: Record<string, string> };
      }
    ).config.Labels ?? {};
  const base = manifest!.Layers.filter((layer) => {
    const digest = `sha256:${createHash('sha256').update(file(layer)).digest('hex')}`;
    return labels[`io.crossplane.xpkg:${digest}`] === 'base';
  });
  if (base.length !== 1) throw new Error(`${path}: ${base.length} layers labelled base, not 1`);
  const stream = untar(gunzipSync(file(base[0]!))).get('package.yaml');
  if (!stream) throw new Error(`${path}: no package.yaml in the base layer`);
  return stream.toString('utf8');
}
