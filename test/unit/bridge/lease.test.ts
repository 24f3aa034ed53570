import { describe, expect, it } from 'vitest';
import { ReadYourWrites } from '../../../bridge/kube/read-your-writes.js';
import {
  claimedSpec,
  leaseDecision,
  microTime,
  releasedSpec,
  sight,
  stillLeading,
  type LeaseSpec,
} from '../../../bridge/kube/lease.js';

const timing = { durationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
const held = (holder: string, renewTime = '2026-11-25T09:00:00.000000Z'): LeaseSpec => ({
  holderIdentity: holder,
  leaseDurationSeconds: 15,
  renewTime,
});

describe('leader election decisions', () => {
  it.each([
    ['no lease yet', undefined, 0, 'create'],
    ['held by me (a restarted container of the same pod)', held('me'), 0, 'renew'],
    ['released: no holder', held(''), 0, 'acquire'],
    ['held by another, seen renewed just now', held('other'), 0, 'follow'],
    ['held by another, unchanged for 14.9 s', held('other'), 14_900, 'follow'],
    ['held by another, unchanged for 15 s', held('other'), 15_000, 'acquire'],
    [
      'held by another whose lease is 1 s (released that way)',
      { ...held('other'), leaseDurationSeconds: 1 },
      1_000,
      'acquire',
    ],
  ] as const)('%s → %s', (_, spec, elapsed, decision) => {
    const seen = sight(undefined, spec, 1_000);
    expect(leaseDecision('me', spec, seen, 1_000 + elapsed, timing)).toBe(decision);
  });

  it('judges expiry by when the lease last changed as seen here, not by its renewTime', () => {
    const first = sight(undefined, held('other', '2000-01-01T00:00:00.000000Z'), 1_000);
    // Still the same record later: the sighting keeps its first time.
    expect(sight(first, held('other', '2000-01-01T00:00:00.000000Z'), 9_000)).toBe(first);
    // A renewal is a new record: the wait starts again.
    const renewed = sight(first, held('other', '2000-01-01T00:00:02.000000Z'), 9_000);
    expect(renewed.at).toBe(9_000);
    expect(leaseDecision('me', held('other'), renewed, 20_000, timing)).toBe('follow');
    expect(leaseDecision('me', held('other'), renewed, 24_000, timing)).toBe('acquire');
  });

  it('stops leading a renew deadline after the last renewal', () => {
    expect(stillLeading(0, 9_999, timing)).toBe(true);
    expect(stillLeading(0, 10_000, timing)).toBe(false);
  });

  it('writes MicroTime, counts transitions, and releases to no holder', () => {
    const now = new Date('2026-11-25T09:00:00.123Z');
    expect(microTime(now)).toBe('2026-11-25T09:00:00.123000Z');
    const previous = { ...held('other'), leaseTransitions: 3, acquireTime: 'x' };
    expect(claimedSpec('acquire', 'me', previous, timing, now)).toEqual({
      holderIdentity: 'me',
      leaseDurationSeconds: 15,
      acquireTime: '2026-11-25T09:00:00.123000Z',
      renewTime: '2026-11-25T09:00:00.123000Z',
      leaseTransitions: 4,
    });
    expect(claimedSpec('renew', 'me', { ...previous, holderIdentity: 'me' }, timing, now)).toEqual({
      ...previous,
      holderIdentity: 'me',
      renewTime: '2026-11-25T09:00:00.123000Z',
    });
    expect(claimedSpec('create', 'me', undefined, timing, now).leaseTransitions).toBe(0);
    expect(releasedSpec(previous, now)).toMatchObject({
      holderIdentity: '',
      leaseDurationSeconds: 1,
    });
  });
});

describe('read-your-writes over an informer cache', () => {
  const at = (resourceVersion: string, extra = {}) => ({ metadata: { resourceVersion }, ...extra });

  it('uses a written object while the cache still shows a version it replaced', () => {
    const fresh = new ReadYourWrites();
    const w1 = at('11', { n: 1 });
    const w2 = at('12', { n: 2 });
    fresh.wrote('k', '10', w1);
    fresh.wrote('k', '11', w2);
    expect(fresh.pick('k', at('10'))).toBe(w2);
    expect(fresh.pick('k', at('11'))).toBe(w2);
    // The cache caught up: it is used from now on, also for versions seen before.
    expect(fresh.pick('k', at('12'))).toEqual(at('12'));
    expect(fresh.pick('k', at('10'))).toEqual(at('10'));
  });

  it('uses the cache once it shows anything newer, and forgets a deleted object', () => {
    const fresh = new ReadYourWrites();
    fresh.wrote('k', '10', at('11'));
    expect(fresh.pick('k', at('13', { by: 'someone else' }))).toEqual(
      at('13', { by: 'someone else' }),
    );
    fresh.wrote('k', '13', undefined);
    expect(fresh.pick('k', at('13'))).toBeUndefined();
    expect(fresh.pick('k', undefined)).toBeUndefined();
    expect(fresh.pick('k', at('20'))).toEqual(at('20'));
  });
});
