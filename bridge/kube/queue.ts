export interface QueueOptions {
  workers: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Retries per second over all keys; bursts of 10 s worth pass at once. */
  retryRate: number;
  /** Errors that mean "run again now" (a write conflict), not "back off"; a few times in a row. */
  immediate?: (error: unknown) => boolean;
  /** Low-priority keys handled per second at most, so that bookkeeping leaves the API server room. */
  lowPriorityRate?: number;
}

/** Conflicts retried at once before they count as failures: a key that always conflicts backs off. */
const IMMEDIATE_RETRIES = 5;
/** setTimeout's longest delay is 2^31-1 ms (24.8 days); a later time is reached in steps. */
const MAX_TIMER_MS = 24 * 60 * 60 * 1000;

/** What a handled key asks for: to be handled again after `requeueAfterMs`, as controller-runtime's Result. */
export interface Outcome {
  requeueAfterMs?: number;
  /** Then handled only while no other key waits: bookkeeping that can wait behind changes. */
  lowPriority?: boolean;
}

/**
 * Delays for retries over all keys, as client-go's overall rate limiter: a token bucket. A sink
 * that fails for everyone is then retried at a bounded rate however many environments wait.
 */
class TokenBucket {
  private tokens: number;
  private at = Date.now();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** Takes a token; returns how long to wait until it is due. */
  reserve(): number {
    this.refill();
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.rate) * 1000);
  }

  /** Takes a token if there is one: 0; else how long until there is, taking none. */
  take(): number {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / this.rate) * 1000);
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.rate);
    this.at = now;
  }
}

/**
 * A work queue of keys, as Kubernetes controllers use: a key is queued at most once however often
 * it changes, is never handled by two workers at once, and a failed key comes back after a capped
 * exponential backoff, within a global retry rate. Its size is bounded by the number of distinct
 * keys. While paused (caches not synced, not the leader) keys are kept, not handled. A handled key
 * may ask to come back later (an expiry due): one timer per key, the latest answer's; at low
 * priority, it waits until no other key does, and a change in the meantime makes it urgent again.
 */
export class WorkQueue {
  private readonly queued: string[] = [];
  private readonly pending = new Set<string>();
  /** The low-priority lane; a key that left it (made urgent) stays in the list, skipped. */
  private readonly queuedLow: string[] = [];
  private readonly pendingLow = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly scheduled = new Map<string, NodeJS.Timeout>();
  private readonly idle: (() => void)[] = [];
  private readonly bucket: TokenBucket;
  private readonly lowBucket: TokenBucket | undefined;
  /** Wakes a worker when the low-priority lane has a token again. */
  private lowWake: NodeJS.Timeout | undefined;
  private stopped = false;
  private paused = true;

  constructor(
    private readonly handle: (key: string) => Promise<Outcome | void>,
    private readonly options: QueueOptions,
    private readonly onError: (key: string, error: unknown, retryInMs: number) => void,
  ) {
    this.bucket = new TokenBucket(options.retryRate, options.retryRate * 10);
    const { lowPriorityRate } = options;
    // A burst of one second's worth: the lane starts full, then keeps its rate.
    this.lowBucket = lowPriorityRate
      ? new TokenBucket(lowPriorityRate, lowPriorityRate)
      : undefined;
  }

  get depth(): number {
    return this.pending.size + this.pendingLow.size;
  }

  /** Workers take keys only between resume() and pause(); a new queue is paused. */
  resume(): void {
    this.paused = false;
    for (const wake of this.idle.splice(0)) wake();
  }

  pause(): void {
    this.paused = true;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.pending.has(key)) return;
    this.pendingLow.delete(key);
    this.pending.add(key);
    this.queued.push(key);
    if (!this.paused) this.idle.shift()?.();
  }

  private addLow(key: string): void {
    if (this.stopped || this.active.has(key) || this.pending.has(key) || this.pendingLow.has(key))
      return;
    this.pendingLow.add(key);
    this.queuedLow.push(key);
    if (!this.paused) this.idle.shift()?.();
  }

  private next(): string | undefined {
    if (this.paused) return undefined;
    const key = this.queued.shift();
    if (key !== undefined) {
      this.pending.delete(key);
      return key;
    }
    while (this.queuedLow.length > 0 && !this.pendingLow.has(this.queuedLow[0]!)) {
      this.queuedLow.shift();
    }
    if (this.queuedLow.length === 0 || this.lowWake) return undefined;
    const wait = this.lowBucket?.take() ?? 0;
    if (wait > 0) {
      this.lowWake = setTimeout(() => {
        this.lowWake = undefined;
        this.idle.shift()?.();
      }, wait);
      return undefined;
    }
    const low = this.queuedLow.shift()!;
    this.pendingLow.delete(low);
    return low;
  }

  private addAfter(key: string, ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.add(key);
    }, ms);
    this.timers.add(timer);
  }

  /**
   * Handles `key` again in `ms`, replacing the time asked for before: each handling computes the
   * next one from scratch, so the latest answer is the right one.
   */
  private schedule(key: string, outcome: Outcome | void): void {
    clearTimeout(this.scheduled.get(key));
    this.scheduled.delete(key);
    const ms = outcome?.requeueAfterMs;
    if (ms === undefined || this.stopped) return;
    const timer = setTimeout(
      () => {
        this.scheduled.delete(key);
        if (outcome?.lowPriority) this.addLow(key);
        else this.add(key);
      },
      Math.min(Math.max(ms, 0), MAX_TIMER_MS),
    );
    this.scheduled.set(key, timer);
  }

  /** Runs the workers until stop(); resolves when they have all finished their current key. */
  async run(): Promise<void> {
    await Promise.all(Array.from({ length: this.options.workers }, () => this.worker()));
  }

  private async worker(): Promise<void> {
    while (!this.stopped) {
      const key = this.next();
      if (key === undefined) {
        await new Promise<void>((resolve) => this.idle.push(resolve));
        continue;
      }
      this.active.add(key);
      try {
        const outcome = await this.handle(key);
        this.failures.delete(key);
        this.schedule(key, outcome);
      } catch (error) {
        const attempts = (this.failures.get(key) ?? 0) + 1;
        this.failures.set(key, attempts);
        if (this.options.immediate?.(error) && attempts <= IMMEDIATE_RETRIES) {
          this.dirty.add(key);
        } else {
          const backoff = Math.min(
            this.options.retryBaseMs * 2 ** (attempts - 1),
            this.options.retryMaxMs,
          );
          const delay = Math.max(backoff, this.bucket.reserve());
          this.onError(key, error, delay);
          this.addAfter(key, delay);
        }
      } finally {
        this.active.delete(key);
        if (this.dirty.delete(key)) this.add(key);
      }
    }
  }

  /**
   * Resolves once no key waits (outside the low-priority lane) and none is being handled, at once
   * while paused, or after `timeoutMs`: for a graceful stop.
   */
  async quiet(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const busy = () => !this.paused && (this.pending.size > 0 || this.active.size > 0);
    while (busy() && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.lowWake);
    for (const timer of [...this.timers, ...this.scheduled.values()]) clearTimeout(timer);
    this.timers.clear();
    this.scheduled.clear();
    for (const resume of this.idle.splice(0)) resume();
  }
}
