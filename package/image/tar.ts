/**
 * Tar archives as container images and Helm charts need them, written and read without a tar
 * binary: ustar headers (POSIX.1-1988, with the 155-byte name prefix), regular files, folders and
 * symbolic links, each with its own mode and owner. Written archives are reproducible: no times,
 * user or group names.
 */

const BLOCK = 512;

export type TarEntry =
  | { kind: 'file'; path: string; content: Buffer; mode?: number; uid?: number; gid?: number }
  | { kind: 'dir'; path: string; mode?: number; uid?: number; gid?: number }
  | { kind: 'symlink'; path: string; target: string };

/** Splits a path into ustar's prefix (≤ 155 bytes) and name (≤ 100 bytes) fields. */
function splitPath(path: string): [prefix: string, name: string] {
  if (Buffer.byteLength(path) <= 100) return ['', path];
  for (let cut = path.indexOf('/'); cut !== -1; cut = path.indexOf('/', cut + 1)) {
    const prefix = path.slice(0, cut);
    const name = path.slice(cut + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return [prefix, name];
  }
  throw new Error(`tar: path too long for ustar: ${path}`);
}

function header(entry: TarEntry, size: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  const field = (offset: number, length: number, value: string) =>
    block.write(value, offset, length, 'utf8');
  const octal = (offset: number, length: number, value: number) =>
    field(offset, length, value.toString(8).padStart(length - 1, '0'));
  const path = entry.kind === 'dir' ? `${entry.path.replace(/\/$/, '')}/` : entry.path;
  const [prefix, name] = splitPath(path);
  const mode =
    entry.kind === 'symlink' ? 0o777 : (entry.mode ?? (entry.kind === 'dir' ? 0o755 : 0o644));
  field(0, 100, name);
  octal(100, 8, mode);
  octal(108, 8, entry.kind === 'symlink' ? 0 : (entry.uid ?? 0));
  octal(116, 8, entry.kind === 'symlink' ? 0 : (entry.gid ?? 0));
  octal(124, 12, size);
  octal(136, 12, 0);
  field(148, 8, '        ');
  field(156, 1, entry.kind === 'file' ? '0' : entry.kind === 'dir' ? '5' : '2');
  if (entry.kind === 'symlink') field(157, 100, entry.target);
  field(257, 6, 'ustar');
  field(263, 2, '00');
  field(345, 155, prefix);
  const sum = block.reduce((total, byte) => total + byte, 0);
  field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return block;
}

/** A tar archive of `entries`, in the order given. */
export function tar(entries: Iterable<TarEntry>): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = entry.kind === 'file' ? entry.content : Buffer.alloc(0);
    blocks.push(header(entry, body.length), body);
    const padding = (BLOCK - (body.length % BLOCK)) % BLOCK;
    if (padding > 0) blocks.push(Buffer.alloc(padding));
  }
  blocks.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(blocks);
}

/** Regular files from their text: what a chart or a package folder is. */
export function tarOfFiles(files: Record<string, string>): Buffer {
  return tar(
    Object.entries(files).map(([path, text]) => ({
      kind: 'file' as const,
      path,
      content: Buffer.from(text),
    })),
  );
}

/** Every entry of a tar archive: regular files, folders and symbolic links; anything else refused. */
export function readTar(archive: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  let offset = 0;
  while (offset + BLOCK <= archive.length && archive[offset] !== 0) {
    const field = (start: number, length: number) =>
      archive
        .subarray(offset + start, offset + start + length)
        .toString('utf8')
        .replace(/\0.*$/s, '');
    const number = (start: number, length: number) =>
      parseInt(field(start, length).trim() || '0', 8);
    const size = number(124, 12);
    const type = field(156, 1);
    const prefix = field(345, 155);
    const path = (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100)).replace(/^\.\//, '');
    const owner = { mode: number(100, 8), uid: number(108, 8), gid: number(116, 8) };
    if (type === '0' || type === '') {
      const content = archive.subarray(offset + BLOCK, offset + BLOCK + size);
      entries.push({ kind: 'file', path, content, ...owner });
    } else if (type === '5') {
      if (path !== '' && path !== './')
        entries.push({ kind: 'dir', path: path.replace(/\/$/, ''), ...owner });
    } else if (type === '2') {
      entries.push({ kind: 'symlink', path, target: field(157, 100) });
    } else {
      throw new Error(`tar entry ${path}: type ${type} is not supported`);
    }
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  return entries;
}

/** The regular files of a tar archive by name. */
export function untar(archive: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const entry of readTar(archive))
    if (entry.kind === 'file') files.set(entry.path, entry.content);
  return files;
}
