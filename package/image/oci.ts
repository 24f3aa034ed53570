/**
 * Container images as tarballs, without Docker: the format `docker save` writes and
 * go-containerregistry reads (`crane push`, `crossplane xpkg build --embed-runtime-image-tarball`)
 * as containerd does (`ctr images import`): manifest.json, the config file named by its digest,
 * and gzipped layer tarballs.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { tar, untar } from './tar.js';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** The runtime part of an image's config (OCI image spec, `config`). */
export interface ImageConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  ExposedPorts?: Record<string, object>;
  Labels?: Record<string, string>;
}

export interface ImageFile {
  architecture: string;
  os: string;
  config: ImageConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
}

/** A layer as it goes into an image: its gzipped bytes and the digest of the uncompressed tar. */
export interface Layer {
  gzipped: Buffer;
  diffId: string;
}

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export async function layer(uncompressed: Buffer): Promise<Layer> {
  return { gzipped: await gzipAsync(uncompressed), diffId: sha256(uncompressed) };
}

/** Writes one image, `reference` its tag (`repository:tag`), as an image tarball at `path`. */
export async function writeImage(
  path: string,
  reference: string,
  layers: Layer[],
  config: ImageConfig,
): Promise<void> {
  const image: ImageFile = {
    architecture: 'amd64',
    os: 'linux',
    config,
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
  };
  const configBytes = Buffer.from(JSON.stringify(image));
  const configName = sha256(configBytes);
  const layerNames = layers.map((l) => `${sha256(l.gzipped).slice('sha256:'.length)}.tar.gz`);
  const manifest = [{ Config: configName, RepoTags: [reference], Layers: layerNames }];
  await writeFile(
    path,
    tar([
      { kind: 'file', path: 'manifest.json', content: Buffer.from(JSON.stringify(manifest)) },
      { kind: 'file', path: configName, content: configBytes },
      ...layers.map((l, i) => ({
        kind: 'file' as const,
        path: layerNames[i]!,
        content: l.gzipped,
      })),
    ]),
  );
}

/** An image tarball's config and its layers (gzipped, in order), as writeImage() wrote them. */
export async function readImage(path: string): Promise<{ image: ImageFile; layers: Buffer[] }> {
  const files = untar(await readFile(path));
  const read = (name: string) => {
    const content = files.get(name);
    if (!content) throw new Error(`${path}: no ${name}`);
    return content;
  };
  const manifests = JSON.parse(read('manifest.json').toString()) as {
    Config: string;
    Layers: string[];
  }[];
  if (manifests.length !== 1) throw new Error(`${path}: ${manifests.length} images, not one`);
  const [manifest] = manifests as [(typeof manifests)[0]];
  return {
    image: JSON.parse(read(manifest.Config).toString()) as ImageFile,
    layers: manifest.Layers.map(read),
  };
}

/** The files of a gzipped layer, by path. */
export async function layerFiles(gzipped: Buffer): Promise<Map<string, Buffer>> {
  return untar(await gunzipAsync(gzipped));
}
