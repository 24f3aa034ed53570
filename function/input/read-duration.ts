/**
 * Durations as claims and catalogues write them: amounts of days, hours, minutes and seconds, such
 * as "8h" or "1d12h". Without days they are also what Go's time.ParseDuration reads, as
 * provider-helm reads a Release's `waitTimeout`.
 */
import { DURATION, durationMs } from '../../common/duration.js';
import { limits } from './limits.js';
import { FieldError, quote, read } from './untrusted-input.js';

const DAY = 86_400_000;
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
    rules.days ? DURATION : WITHOUT_DAYS,
    rules.days ? 'a duration such as "8h" or "1d12h"' : 'a duration such as "90s", "5m" or "1h30m"',
    rules.maxLength,
  );
  // Matched above; its length bounds each amount, so the sum stays a finite number.
  const ms = durationMs(text)!;
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
