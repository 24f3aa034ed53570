import { hash } from 'node:crypto';

const HASH_CHARACTERS = 10; // 50 bits: collisions stay negligible across millions of names
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/**
 * A DNS-1123 label of at most `max` (≥ 10) characters that is unique for `parts`: a readable head (the
 * non-empty parts joined by '-', other characters replaced, cut to fit) and always a hash of the
 * parts themselves. The hash is over an unambiguous encoding of the list, so ['a', 'b-c'] and
 * ['a-b', 'c'] differ although their heads are the same.
 */
export function derivedName(parts: readonly string[], max = 63): string {
  const suffix = base32(hash('sha256', JSON.stringify(parts), 'buffer'));
  const head = parts
    .filter((part) => part !== '')
    .join('-')
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, Math.max(0, max - HASH_CHARACTERS - 1))
    .replace(/^-+|-+$/g, '');
  return head === '' ? suffix : `${head}-${suffix}`;
}

function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
      if (out.length === HASH_CHARACTERS) return out;
    }
  }
  return out;
}
