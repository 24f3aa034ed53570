/**
 * Durations as claims write spec.ttl ("8h", "1d12h": days, hours, minutes, seconds), for the
 * bridge's settings in the same form.
 */
export const DURATION = /^([0-9]+[dhms])+$/;

const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 };

/** Milliseconds, or undefined when `text` is not such a duration. */
export function durationMs(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/([0-9]+)([dhms])/g)) {
    total += Number(amount) * UNIT_MS[unit!]!;
  }
  return total;
}
