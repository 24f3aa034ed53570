import { hash } from 'node:crypto';

const HASH_CHARACTERS = 10; // 50 bits: collisions stay negligible across millions of names
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
/** Hex digits the hash characters are read from: 13 × 4 = 52 bits, exact in a double. */
const HEX_DIGITS = 13;

/**
 * A DNS-1123 label of at most `max` (≥ 10) characters that is unique for `parts`: a readable head (the
 * non-empty parts joined by '-', other characters replaced, cut to fit) and always a hash of the
 * parts themselves. The hash is over an unambiguous encoding of the list, so ['a', 'b-c'] and
 * ['a-b', 'c'] differ although their heads are the same.
 */
export function derivedName(parts: readonly string[], max = 63): string {
  const encoded = JSON.stringify(parts);
  const key = max === 63 ? encoded : `${max}${encoded}`;
  let name = remembered.get(key);
  if (name === undefined) {
    name = newName(parts, encoded, max);
    if (remembered.size === REMEMBERED_NAMES) remembered.clear();
    remembered.set(key, name);
  }
  return name;
}

/**
 * Names derived lately, by parts and length: every request for an XR asks for the same few
 * hundred again, and hashing them again is not free (docs/performance.md). Bounded; forgotten all
 * at once.
 */
const remembered = new Map<string, string>();
const REMEMBERED_NAMES = 4096;

function newName(parts: readonly string[], encoded: string, max: number): string {
  const suffix = base32(hash('sha256', encoded, 'hex'));
  let joined = '';
  for (const part of parts) {
    if (part !== '') joined = joined === '' ? part : `${joined}-${part}`;
  }
  const head = joined
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, Math.max(0, max - HASH_CHARACTERS - 1))
    .replace(/^-+|-+$/g, '');
  return head === '' ? suffix : `${head}-${suffix}`;
}

/**
 * The digest's first 50 bits in base32, most significant first. Read from the hex digest and
 * built as one string: every name costs this, and a string per character added up.
 */
function base32(hex: string): string {
  const bits = Number.parseInt(hex.slice(0, HEX_DIGITS), 16);
  const codes: number[] = [];
  for (let i = 1; i <= HASH_CHARACTERS; i++) {
    codes.push(BASE32.charCodeAt(Math.floor(bits / 2 ** (HEX_DIGITS * 4 - 5 * i)) % 32));
  }
  return String.fromCharCode(...codes);
}
