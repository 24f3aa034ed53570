/**
 * Durations as claims and catalogues write them: amounts of days, hours, minutes and seconds, such
 * as "8h" or "1d12h". Without days they are also what Go's time.ParseDuration reads, as
 * provider-helm reads a Release's `waitTimeout`.
 */
import { limits } from './limits.js';
import { FieldError, quote, read } from './untrusted-input.js';

const SECOND = 1_000;
const UNITS: Record<string, number> = {
  d: 86_400 * SECOND,
  h: 3_600 * SECOND,
  m: 60 * SECOND,
  s: SECOND,
};
const DAY = UNITS.d!;

const WITH_DAYS = /^([0-9]+[dhms])+$/;
const WITHOUT_DAYS = /^([0-9]+[hms])+$/;

export interface Duration {
  /** As written, for messages and for whoever reads it next (provider-helm). */
  text: string;
  ms: number;
}

export interface DurationRules {
  /** Whether `d` is a unit; provider-helm's Go parser knows none. */
  days: boolean;
  maxLength: number;
  /** The longest allowed, in milliseconds, and as a message names it. */
  max: { ms: number; text: string };
  /** Whether zero is refused. */
  positive?: boolean;
}

export function readDuration(value: unknown, field: string, rules: DurationRules): Duration {
  const text = read.matching(
    value,
    field,
    rules.days ? WITH_DAYS : WITHOUT_DAYS,
    rules.days ? 'a duration such as "8h" or "1d12h"' : 'a duration such as "90s", "5m" or "1h30m"',
    rules.maxLength,
  );
  let ms = 0;
  // Its length bounds each amount, so the sum stays a finite number.
  for (const [, amount, unit] of text.matchAll(/([0-9]+)([dhms])/g)) {
    ms += Number(amount) * UNITS[unit as string]!;
  }
  if (ms > rules.max.ms)
    throw new FieldError(field, `${quote(text)} is longer than ${rules.max.text}`);
  if (rules.positive && ms === 0) throw new FieldError(field, `${quote(text)} is no time at all`);
  return { text, ms };
}

/** `spec.ttl`, and the catalogue's `environments.defaultTTL` and `maxTTL`. */
export const TTL_RULES: DurationRules = {
  days: true,
  maxLength: limits.ttlLength,
  max: { ms: limits.ttlDays * DAY, text: `${limits.ttlDays}d` },
};
