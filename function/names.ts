import { createHash } from 'node:crypto';

/**
 * Joins parts into a name of at most `max` characters. Names that would be too long are cut and
 * given a short hash of the whole, so two long names never collide after truncation.
 */
export function boundedName(parts: string[], max = 63): string {
  const joined = parts.filter((part) => part !== '').join('-');
  if (joined.length <= max) return joined;
  const hash = createHash('sha256').update(joined).digest('hex').slice(0, 8);
  const head = joined.slice(0, max - hash.length - 1).replace(/-+$/, '');
  return `${head}-${hash}`;
}
