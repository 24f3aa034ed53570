/** A seeded pseudo-random generator (mulberry32), so generated tests are the same on every run. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }

  /** A string of `length` characters from `alphabet`. */
  text(length: number, alphabet: string): string {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[this.int(0, alphabet.length - 1)];
    return out;
  }

  /** A DNS-1123 label of `length` (1–63) characters. */
  label(length: number): string {
    if (length === 1) return this.text(1, ALNUM);
    return this.text(1, ALNUM) + this.text(length - 2, `${ALNUM}-`) + this.text(1, ALNUM);
  }

  /** A length, most often at or next to one of the `edges`. */
  length(max: number, edges: readonly number[] = [1, max]): number {
    if (this.chance(0.5)) {
      const edge = this.pick(edges);
      return Math.min(max, Math.max(1, edge + this.int(-1, 1)));
    }
    return this.int(1, max);
  }
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
