import { describe, expect, it } from 'vitest';
import { planExpiry, type ExpiryInput, type ExpiryPlan } from '../../../bridge/lifecycle/expiry.js';

const HOUR = 3_600_000;
const EXPIRES = '2026-11-25T17:00:00Z';
const base: ExpiryInput = {
  expiresAt: new Date(EXPIRES),
  deleting: false,
  fatal: false,
  now: new Date('2026-11-25T09:00:00Z'),
  leadMs: HOUR,
};
const at = (iso: string) => new Date(iso);
const warning = {
  status: 'True',
  reason: 'TTLExpiring',
  message: `expires at ${EXPIRES}, when it will be deleted`,
} as const;

describe('expiry decisions', () => {
  const table: { name: string; input: Partial<ExpiryInput>; want: ExpiryPlan }[] = [
    {
      name: 'no ttl: never expires, no timer',
      input: { expiresAt: undefined },
      want: { expire: false },
    },
    {
      name: 'ttl removed after the warning: withdrawn',
      input: { expiresAt: undefined, condition: { type: 'Expiring', ...warning } },
      want: {
        expire: false,
        condition: { status: 'False', reason: 'TTLExtended', message: 'no ttl: never expires' },
      },
    },
    {
      name: 'far from expiry: nothing, back when the warning is due',
      input: {},
      want: { expire: false, requeueAfterMs: 7 * HOUR },
    },
    {
      name: 'far from expiry with a False condition: left as it is',
      input: {
        condition: { type: 'Expiring', status: 'False', reason: 'TTLExtended', message: 'x' },
      },
      want: { expire: false, requeueAfterMs: 7 * HOUR },
    },
    {
      name: 'inside the warning window: warn, condition True, back at expiry',
      input: { now: at('2026-11-25T16:15:00Z') },
      want: { warn: EXPIRES, condition: warning, expire: false, requeueAfterMs: 45 * 60_000 },
    },
    {
      name: 'at the start of the window exactly: warn',
      input: { now: at('2026-11-25T16:00:00Z') },
      want: { warn: EXPIRES, condition: warning, expire: false, requeueAfterMs: HOUR },
    },
    {
      name: 'inside the window, condition written already: only the warning (recorded once)',
      input: { now: at('2026-11-25T16:15:00Z'), condition: { type: 'Expiring', ...warning } },
      want: { warn: EXPIRES, expire: false, requeueAfterMs: 45 * 60_000 },
    },
    {
      name: 'past expiry: warn (if not yet) and delete',
      input: { now: at('2026-11-25T17:00:01Z') },
      want: { warn: EXPIRES, condition: warning, expire: true },
    },
    {
      name: 'at expiry exactly: delete',
      input: { now: at(EXPIRES), condition: { type: 'Expiring', ...warning } },
      want: { warn: EXPIRES, expire: true },
    },
    {
      name: 'extended after the warning: withdrawn, back at the new window',
      input: {
        expiresAt: at('2026-11-25T21:00:00Z'),
        now: at('2026-11-25T16:30:00Z'),
        condition: { type: 'Expiring', ...warning },
      },
      want: {
        expire: false,
        condition: {
          status: 'False',
          reason: 'TTLExtended',
          message: 'expires at 2026-11-25T21:00:00Z',
        },
        requeueAfterMs: 3.5 * HOUR,
      },
    },
    {
      name: 'extended, and withdrawn already',
      input: {
        expiresAt: at('2026-11-25T21:00:00Z'),
        now: at('2026-11-25T16:30:00Z'),
        condition: {
          type: 'Expiring',
          status: 'False',
          reason: 'TTLExtended',
          message: 'expires at 2026-11-25T21:00:00Z',
        },
      },
      want: { expire: false, requeueAfterMs: 3.5 * HOUR },
    },
    {
      name: 'being deleted already: nothing, whatever the time',
      input: { deleting: true, now: at('2026-11-26T00:00:00Z') },
      want: { expire: false },
    },
    {
      name: 'a Fatal result: the condition Crossplane set Unknown is not fought over; the rest goes on',
      input: {
        fatal: true,
        now: at(EXPIRES),
        condition: {
          type: 'Expiring',
          status: 'Unknown',
          reason: 'FatalError',
          message: 'A fatal error occurred',
        },
      },
      want: { warn: EXPIRES, expire: true },
    },
    {
      name: 'an Unknown condition without a Fatal result is written',
      input: {
        now: at('2026-11-25T16:30:00Z'),
        condition: { type: 'Expiring', status: 'Unknown', reason: 'FatalError', message: 'stale' },
      },
      want: { warn: EXPIRES, condition: warning, expire: false, requeueAfterMs: HOUR / 2 },
    },
  ];
  it.each(table)('$name', ({ input, want }) => {
    expect(planExpiry({ ...base, ...input })).toEqual(want);
  });
});
