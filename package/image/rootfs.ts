/**
 * Layers of images built without Docker: a base with what the distroless images give every
 * program (users, /tmp, CA certificates, name resolution order), the contents of Debian packages,
 * and files from this machine.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, lstat, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import { readTar, type TarEntry } from './tar.js';

const run = promisify(execFile);

/** The unprivileged user distroless images run as. */
export const NONROOT = 65532;

/** Debian's bundle of trusted CAs, as its ca-certificates package builds it. */
const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

export const BASE_ENV = [
  'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  `SSL_CERT_FILE=${CA_BUNDLE}`,
];

const file = (path: string, text: string, mode = 0o644): TarEntry => ({
  kind: 'file',
  path,
  content: Buffer.from(text),
  mode,
});

/** Users root, nobody and nonroot (65532), a world-writable /tmp, CA certificates. */
export async function baseEntries(): Promise<TarEntry[]> {
  return [
    { kind: 'dir', path: 'etc' },
    file(
      'etc/passwd',
      'root:x:0:0:root:/root:/sbin/nologin\n' +
        'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' +
        `nonroot:x:${NONROOT}:${NONROOT}:nonroot:/home/nonroot:/sbin/nologin\n`,
    ),
    file('etc/group', `root:x:0:\nnobody:x:65534:\nnonroot:x:${NONROOT}:\n`),
    file('etc/nsswitch.conf', 'hosts: files dns\n'),
    { kind: 'dir', path: 'etc/ssl' },
    { kind: 'dir', path: 'etc/ssl/certs' },
    { kind: 'file', path: CA_BUNDLE.slice(1), content: await readFile(CA_BUNDLE) },
    { kind: 'dir', path: 'home' },
    { kind: 'dir', path: 'home/nonroot', mode: 0o700, uid: NONROOT, gid: NONROOT },
    { kind: 'dir', path: 'root', mode: 0o700 },
    { kind: 'dir', path: 'tmp', mode: 0o1777 },
  ];
}

/** The files a Debian package installs (its data archive), without its documentation. */
export async function debianPackageEntries(deb: string): Promise<TarEntry[]> {
  const { stdout } = await run('dpkg-deb', ['--fsys-tarfile', deb], {
    encoding: 'buffer',
    maxBuffer: 1 << 30,
  });
  return readTar(stdout).filter(
    (entry) => !/^usr\/share\/(doc|lintian|man)(\/|$)/.test(entry.path),
  );
}

/** Every folder above `path` (not itself), outermost first: `a/b/c` gives `a`, `a/b`. */
export function parents(path: string): TarEntry[] {
  const parts = path.split('/').slice(0, -1);
  return parts.map((_, i) => ({ kind: 'dir' as const, path: parts.slice(0, i + 1).join('/') }));
}

/** A file of this machine at `path` in the image, with the folders above it. */
export async function hostFile(from: string, path: string, mode = 0o755): Promise<TarEntry[]> {
  return [...parents(path), { kind: 'file', path, content: await readFile(from), mode }];
}

/** A folder of this machine, recursively, at `path` in the image (regular files and links). */
export async function hostTree(from: string, path: string): Promise<TarEntry[]> {
  const entries: TarEntry[] = [...parents(path), { kind: 'dir', path }];
  for (const name of (await readdir(from)).sort()) {
    const source = join(from, name);
    const target = posix.join(path, name);
    const stat = await lstat(source);
    if (stat.isDirectory())
      entries.push(...(await hostTree(source, target)).slice(parents(target).length));
    else if (stat.isSymbolicLink())
      entries.push({ kind: 'symlink', path: target, target: await readlink(source) });
    else
      entries.push({
        kind: 'file',
        path: target,
        content: await readFile(source),
        mode: stat.mode & 0o7777,
      });
  }
  return entries;
}

/** Entries with each folder once: later layers' folders must not repeat earlier ones' modes. */
export function unique(entries: TarEntry[]): TarEntry[] {
  const seen = new Set<string>();
  return entries.filter((entry) => {
    if (entry.kind !== 'dir') return true;
    if (seen.has(entry.path)) return false;
    seen.add(entry.path);
    return true;
  });
}
