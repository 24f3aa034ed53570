/**
 * Leader election on a coordination.k8s.io/v1 Lease, decided as client-go's leaderelection does.
 * Pure: elector.ts reads and writes the Lease.
 */

export interface LeaseTiming {
  /** How long a lease holds once renewed, as others see it (controller-runtime: 15 s). */
  durationMs: number;
  /** A leader that has not renewed for this long stops leading (10 s). */
  renewDeadlineMs: number;
  /** How often candidates try and leaders renew (2 s). */
  retryPeriodMs: number;
}

/** The Lease's spec, as the API has it. */
export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/**
 * When this candidate last saw the lease change, by its own clock: expiry is judged from that,
 * not from renewTime, so clocks that disagree between nodes do not matter.
 */
export interface Sighting {
  record: string;
  at: number;
}

export function sight(
  previous: Sighting | undefined,
  spec: LeaseSpec | undefined,
  now: number,
): Sighting {
  const record = JSON.stringify([
    spec?.holderIdentity ?? '',
    spec?.renewTime ?? '',
    spec?.leaseDurationSeconds ?? 0,
  ]);
  return previous?.record === record ? previous : { record, at: now };
}

export type Decision = 'create' | 'renew' | 'acquire' | 'follow';

export function leaseDecision(
  identity: string,
  spec: LeaseSpec | undefined,
  sighting: Sighting,
  now: number,
  timing: LeaseTiming,
): Decision {
  if (!spec) return 'create';
  const holder = spec.holderIdentity ?? '';
  if (holder === identity) return 'renew';
  // An empty holder is a released lease: free at once.
  if (holder === '') return 'acquire';
  const durationMs = (spec.leaseDurationSeconds ?? timing.durationMs / 1000) * 1000;
  return now >= sighting.at + durationMs ? 'acquire' : 'follow';
}

/** A leader stops once it has gone a renew deadline without renewing. */
export function stillLeading(renewedAt: number, now: number, timing: LeaseTiming): boolean {
  return now - renewedAt < timing.renewDeadlineMs;
}

/** Lease times are MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** The spec to write for a create, acquire or renew decision. */
export function claimedSpec(
  decision: Exclude<Decision, 'follow'>,
  identity: string,
  spec: LeaseSpec | undefined,
  timing: LeaseTiming,
  now: Date,
): LeaseSpec {
  const time = microTime(now);
  const leaseDurationSeconds = Math.ceil(timing.durationMs / 1000);
  if (decision === 'renew') {
    return { ...spec, holderIdentity: identity, leaseDurationSeconds, renewTime: time };
  }
  return {
    holderIdentity: identity,
    leaseDurationSeconds,
    acquireTime: time,
    renewTime: time,
    leaseTransitions: (spec?.leaseTransitions ?? 0) + (decision === 'acquire' ? 1 : 0),
  };
}

/** What a leader writes when it stops: no holder, so the next candidate takes over at once. */
export function releasedSpec(spec: LeaseSpec, now: Date): LeaseSpec {
  const time = microTime(now);
  return {
    ...spec,
    holderIdentity: '',
    leaseDurationSeconds: 1,
    acquireTime: time,
    renewTime: time,
  };
}
