/**
 * A work queue of keys, as Kubernetes controllers use: a key is queued at most once however often
 * it changes, is never handled by two workers at once, and a failed key comes back after a capped
 * exponential backoff. Its size is bounded by the number of distinct keys.
 */
export class WorkQueue {
  private readonly queued: string[] = [];
  private readonly pending = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly idle: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly handle: (key: string) => Promise<void>,
    private readonly options: { workers: number; retryBaseMs: number; retryMaxMs: number },
    private readonly onError: (key: string, error: unknown, retryInMs: number) => void,
  ) {}

  get depth(): number {
    return this.pending.size;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.pending.has(key)) return;
    this.pending.add(key);
    this.queued.push(key);
    this.idle.shift()?.();
  }

  private addAfter(key: string, ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.add(key);
    }, ms);
    this.timers.add(timer);
  }

  /** Runs the workers until stop(); resolves when they have all finished their current key. */
  async run(): Promise<void> {
    await Promise.all(Array.from({ length: this.options.workers }, () => this.worker()));
  }

  private async worker(): Promise<void> {
    while (!this.stopped) {
      const key = this.queued.shift();
      if (key === undefined) {
        await new Promise<void>((resolve) => this.idle.push(resolve));
        continue;
      }
      this.pending.delete(key);
      this.active.add(key);
      try {
        await this.handle(key);
        this.failures.delete(key);
      } catch (error) {
        const attempts = (this.failures.get(key) ?? 0) + 1;
        this.failures.set(key, attempts);
        const delay = Math.min(
          this.options.retryBaseMs * 2 ** (attempts - 1),
          this.options.retryMaxMs,
        );
        this.onError(key, error, delay);
        this.addAfter(key, delay);
      } finally {
        this.active.delete(key);
        if (this.dirty.delete(key)) this.add(key);
      }
    }
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const resume of this.idle.splice(0)) resume();
  }
}
